"""`ray start --head` then `ray job submit -- python -m rayapps.selftrain <tiny>`: the cluster path."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def head(no_ray_cluster: None) -> Iterator[tuple[str, dict[str, str]]]:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PATH": f"{BIN}:{os.environ['PATH']}",
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    port, dash = _free_port(), _free_port()
    # Ray's unix sockets live under the temp dir: keep its path short (sun_path is 108 bytes).
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    subprocess.run([str(BIN / "ray"), "start", "--head", f"--port={port}", "--num-cpus=2",
                    "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}",
                    f"--temp-dir={temp}"],
                   env=env, check=True, capture_output=True, timeout=180)
    try:
        yield f"http://127.0.0.1:{dash}", env
    finally:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def test_job_submit_runs_the_tiny_profile(tmp_path: Path, head: tuple[str, dict[str, str]]) -> None:
    address, env = head
    run = tmp_path / "run"
    command = [str(BIN / "ray"), "job", "submit", "--address", address, "--working-dir", str(ROOT), "--",
               "python", "-m", "rayapps.selftrain", "--config", "tiny", "run.iterations=0",
               "warm_start.min_solve_rate=0", f"run.dir={run}",
               f"run.mlflow_uri=sqlite:///{tmp_path}/mlflow.db"]
    for _ in range(10):  # `ray start` returns before the head's job agent is up (seen on a loaded machine)
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if "No available agent to submit job" not in proc.stderr + proc.stdout:
            break
        time.sleep(5)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "succeeded" in proc.stdout
    # baselines, probe and evaluation: samplers, executors and scorers placed by the job (no warm
    # start: a job's learner would rebuild DeepSpeed's ops for its working dir, a minute here)
    assert (run / "iter_000" / "eval.done").is_file()
