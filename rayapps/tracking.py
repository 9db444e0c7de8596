"""MLflow tracking of a run: params once, metrics per iteration, resumed across restarts.

The MLflow run id is kept in the run directory, so rerunning the same command after a
crash appends to the same MLflow run instead of starting a second one.  Each run is tagged
with the host and pid of the driver that holds it; a driver killed outright (SIGKILL, a
lost node) cannot end its run, so the next tracker on the same host marks every RUNNING run
of the experiment whose driver is gone as KILLED.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import mlflow
import psutil

from visrep.config import Config, flatten, to_dict
from visrep.selftrain.report import Report


class Tracker:
    """One MLflow run per run directory."""

    def __init__(self, cfg: Config, run_root: Path) -> None:
        if cfg.run.mlflow_uri.startswith("sqlite:///"):
            Path(cfg.run.mlflow_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(cfg.run.mlflow_uri)
        experiment = mlflow.set_experiment(cfg.run.experiment)
        mark_orphans_killed(experiment.experiment_id)
        id_file = run_root / "mlflow_run_id"
        if id_file.is_file():
            self._run = mlflow.start_run(run_id=id_file.read_text().strip())
        else:
            self._run = mlflow.start_run(run_name=run_root.name)
            mlflow.log_params({k: str(v)[:500] for k, v in flatten(to_dict(cfg)).items()})
            mlflow.log_artifact(str(run_root / "config.yaml"))
            id_file.write_text(self._run.info.run_id)
        mlflow.set_tags({HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())})

    @property
    def run_id(self) -> str:
        return self._run.info.run_id

    def log(self, metrics: dict[str, float], step: int) -> None:
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)

    def artifact(self, path: Path, subdir: str) -> None:
        mlflow.log_artifact(str(path), artifact_path=subdir)

    def artifact_json(self, data: dict[str, Any], name: str) -> None:
        """``data`` as the JSON artifact ``name`` (no file of ours to upload)."""
        mlflow.log_dict(data, name)

    def close(self, status: str = "FINISHED") -> None:
        mlflow.end_run(status=status)


HOST_TAG, PID_TAG = "visrep.driver_host", "visrep.driver_pid"


def mark_orphans_killed(experiment_id: str) -> list[str]:
    """End as KILLED every RUNNING run of the experiment whose driver ran on this host and is
    gone; returns their ids (one line printed each)."""
    client = mlflow.tracking.MlflowClient()
    host, killed = socket.gethostname(), []
    for run in client.search_runs([experiment_id], "attributes.status = 'RUNNING'"):
        tags = run.data.tags
        pid = tags.get(PID_TAG, "")
        if tags.get(HOST_TAG) == host and pid.isdigit() and not psutil.pid_exists(int(pid)):
            client.set_terminated(run.info.run_id, status="KILLED")
            killed.append(run.info.run_id)
            print(f"MLflow run {run.info.run_id} ({run.info.run_name}) was left RUNNING by a driver that is gone "
                  f"(pid {pid}): marked KILLED", flush=True)
    return killed


def summary_line(metrics: dict[str, Any], prefix: str) -> str:
    """``detect 0.40 | vqa 0.55 | retrieve 0.30`` from ``{prefix}/reward/{kind}`` metrics."""
    cells = {k.removeprefix(f"{prefix}/reward/"): v for k, v in metrics.items() if k.startswith(f"{prefix}/reward/")}
    parts = [f"{kind} {v:.2f}" for kind, v in sorted(cells.items()) if "/" not in kind and kind != "all"]
    return " | ".join(parts)


def log_report(cfg: Config, report: Report, files: list[Path]) -> str:
    """The self-training report as its own MLflow run (named "report"): the document and its
    PNGs as artifacts, and every curve as metrics (``report/<row>/<kind>/<split>``, the
    iteration as the step, so MLflow draws the same curves).  Returns the run id."""
    mlflow.set_tracking_uri(cfg.run.mlflow_uri)
    mlflow.set_experiment(cfg.run.experiment)
    with mlflow.start_run(run_name="report") as run:
        for path in files:
            mlflow.log_artifact(str(path), artifact_path="report")
        curves = {"selftrained": report.trained, "corrections": report.corrected}
        for name, rows in {**curves, **{phase: [row] for phase, row in report.baselines.items()}}.items():
            for row in rows:
                metrics = {f"report/{name}/{kind}/{split}": c.mean for (kind, split), c in row.cells.items()}
                mlflow.log_metrics(metrics, step=row.iteration or 0)
        return run.info.run_id
