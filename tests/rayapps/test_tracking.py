"""MLflow bookkeeping a person relies on: a run whose driver was killed outright does not
stay RUNNING forever, and an interrupted or lost run ends with one line and a status."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import mlflow
import pytest

from rayapps.tracking import HOST_TAG, PID_TAG, mark_orphans_killed
from visrep.cli import Interrupted, run_main


def test_runs_left_running_by_a_dead_driver_on_this_host_are_marked_killed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = mlflow.set_experiment("orphans").experiment_id
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid belongs to nobody now
    client = mlflow.tracking.MlflowClient()
    host = socket.gethostname()
    runs = {name: client.create_run(experiment, tags={HOST_TAG: h, PID_TAG: str(pid)}, run_name=name).info.run_id
            for name, h, pid in (("killed", host, gone.pid), ("alive", host, os.getpid()),
                                 ("elsewhere", "another-host", gone.pid))}
    assert mark_orphans_killed(experiment) == [runs["killed"]]
    status = {name: client.get_run(run_id).info.status for name, run_id in runs.items()}
    assert status == {"killed": "KILLED", "alive": "RUNNING", "elsewhere": "RUNNING"}
    assert "marked KILLED" in capsys.readouterr().out


def _interrupt() -> int:
    raise KeyboardInterrupt


def _lose() -> int:
    raise Interrupted("iter 1 grow: executor-0 died and is lost for good")


@pytest.mark.parametrize("body, code, line", [
    (_interrupt, 130, "job: interrupted; rerun the same command to resume"),
    (_lose, 1, "job: stopped: iter 1 grow: executor-0 died and is lost for good; rerun the same command to resume"),
])
def test_an_interrupted_or_lost_run_is_one_line_that_says_rerun(body, code: int, line: str,
                                                                capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VISREP_DEBUG", raising=False)
    assert run_main("job", body) == code
    assert capsys.readouterr().err.strip().splitlines() == [line]
