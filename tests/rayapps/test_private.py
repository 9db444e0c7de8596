"""A local cluster is private: every port the run's Ray processes listen on is a loopback
address, whatever the environment says, and Ray's token file is readable by its owner only."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.slow]

PROBE = """
from rayapps.cluster import TOKEN_FILE, connect  # first, as in every rayapps entry point
import json, os, re, subprocess
import psutil
import ray
from visrep.config import ResourcesConfig

connect(ResourcesConfig(), 1)
ray.get(ray.remote(lambda: 1).remote())  # a worker process too
mine = {p.pid for p in psutil.Process().children(recursive=True)} | {os.getpid()}
listening = set()
for line in subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout.splitlines():
    if {int(pid) for pid in re.findall(r"pid=(\\d+)", line)} & mine:
        listening.add(line.split()[3].rsplit(":", 1)[0])
print(json.dumps({"listening": sorted(listening), "token_mode": TOKEN_FILE.stat().st_mode & 0o777
                  if TOKEN_FILE.is_file() else None}))
ray.shutdown()
"""


def test_a_local_cluster_listens_on_loopback_only_and_keeps_its_token_private(no_ray_cluster: None) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")}
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "1"  # what would open every port: rayapps overrides it
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["listening"], found  # the check saw Ray's sockets
    assert set(found["listening"]) <= {"127.0.0.1", "[::ffff:127.0.0.1]", "[::1]"}, found
    assert found["token_mode"] in (None, 0o600), found
