"""What a run killed outright leaves behind is gone once the next run starts: Ray workers
whose raylet died are killed (a live cluster's workers, and what actors fork, are not)."""

from __future__ import annotations

import subprocess
import time

import psutil

from rayapps.cluster import reap_orphans


def _orphan(title: str) -> int:
    """The pid of a ``sleep`` titled ``title`` whose parent is gone (as a worker's raylet)."""
    out = subprocess.run(["bash", "-c", f"exec -a '{title}' sleep 300 </dev/null >/dev/null 2>&1 & echo $!"],
                         capture_output=True, text=True, timeout=10, check=True)
    return int(out.stdout.split()[0])


def test_ray_workers_whose_raylet_is_gone_are_killed_and_others_are_not() -> None:
    orphan = _orphan("ray::SamplerActor.sample")
    # a live cluster's worker: its parent is a raylet (here a shell titled so)
    worker = "exec -a 'ray::ExecutorActor.run' sleep 300 & wait"
    raylet = subprocess.Popen(["bash", "-c", f'exec -a raylet bash -c "{worker}"'])
    try:
        deadline = time.monotonic() + 10
        while not (live := [p for p in psutil.Process(raylet.pid).children(recursive=True)
                            if " ".join(p.cmdline()).startswith("ray::ExecutorActor")]):
            assert time.monotonic() < deadline, "the live worker never started"
            time.sleep(0.05)
        killed = reap_orphans()
        assert f"ray::SamplerActor.sample (pid {orphan})" in killed
        deadline = time.monotonic() + 10
        while psutil.pid_exists(orphan) and psutil.Process(orphan).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the orphan survived"
            time.sleep(0.05)
        assert live[0].is_running() and not any(f"pid {live[0].pid})" in k for k in killed)
    finally:
        for proc in psutil.Process(raylet.pid).children(recursive=True):
            proc.kill()
        raylet.kill()
        raylet.wait()
