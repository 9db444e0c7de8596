"""MLflow tracking of a run: params once, metrics per iteration, resumed across restarts.

The MLflow run id is kept in the run directory, so rerunning the same command after a
crash appends to the same MLflow run instead of starting a second one.  Each run is tagged
with the host and pid of the driver that holds it; a driver killed outright (SIGKILL, a
lost node) cannot end its run, so the next tracker on the same host marks every RUNNING run
of the experiment whose driver is gone as KILLED.

The experiment is tagged as model training (``mlflow.experimentKind``), and the run's page
is printed with ``workflowType=machine_learning``: MLflow 3's UI otherwise opens an
experiment on its GenAI overview ("Traces 0") and keeps the choice per browser.  Beside the
metrics each phase logs its views (``rayapps.views``): the program table, a trace per
evaluated program, and boxes drawn on images.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import psutil

from rayapps import views
from visrep.config import Config, flatten, to_dict
from visrep.selftrain.report import Report
from visrep.world.records import Task

EXPERIMENT_KIND_TAG, MODEL_TRAINING = "mlflow.experimentKind", "custom_model_development"
UI_QUERY = "workflowType=machine_learning"  # the UI's "Model training" view of an experiment


class Tracker:
    """One MLflow run per run directory."""

    def __init__(self, cfg: Config, run_root: Path) -> None:
        if cfg.run.mlflow_uri.startswith("sqlite:///"):
            Path(cfg.run.mlflow_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(cfg.run.mlflow_uri)
        experiment = mlflow.set_experiment(cfg.run.experiment)
        self._client = mlflow.tracking.MlflowClient()
        if experiment.tags.get(EXPERIMENT_KIND_TAG) != MODEL_TRAINING:
            self._client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING)
        self.experiment_id = experiment.experiment_id
        self._uri = cfg.run.mlflow_uri
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

    def page(self) -> str:
        """Where a person finds the run: its page in the MLflow UI (and, for a local store,
        the command that serves it)."""
        path = f"#/experiments/{self.experiment_id}/runs/{self.run_id}?{UI_QUERY}"
        if self._uri.startswith(("http://", "https://")):
            return f"{self._uri.rstrip('/')}/{path}"
        return f"`mlflow ui --backend-store-uri {self._uri}`, then http://127.0.0.1:5000/{path}"

    def phase_views(self, iteration: int, phase: str, rows: list[dict[str, Any]], tasks: Mapping[str, Task],
                    world_dir: Path, evaluated: bool) -> None:
        """The phase's program table; for an evaluated phase (held-out, one greedy program per
        task) also its traces and drawn boxes."""
        views.log_table(self._client, self.run_id, views.program_table(rows), views.table_file(iteration, phase))
        if evaluated:
            views.log_traces(self._client, self.run_id, self.experiment_id, rows, tasks, iteration, phase,
                             time.time_ns())
            views.log_overlays(self._client, self.run_id, rows, tasks, world_dir, iteration, phase)

    def log(self, metrics: dict[str, float], step: int) -> None:
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)

    def artifact(self, path: Path, subdir: str) -> None:
        mlflow.log_artifact(str(path), artifact_path=subdir)

    def text(self, text: str, name: str) -> None:
        """``text`` as the artifact ``name`` (replacing one of that name)."""
        mlflow.log_text(text, name)

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
