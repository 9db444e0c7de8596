"""Connecting to Ray and spawning role actors with their resources.

The same entry point runs on a laptop and under ``ray job submit``: with ``RAY_ADDRESS``
set (a job, or a user pointing at a cluster) it connects; without, it starts a local
cluster sized so every actor of the run fits at once.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import psutil
import ray

from visrep import DEFAULT_ENV
from visrep.config import ResourcesConfig, Role


def peak_cpus(res: ResourcesConfig, learner_ranks: int) -> float:
    """Logical CPUs the run holds at its busiest (all roles alive during improve)."""
    return (res.samplers * res.sampler_cpus + res.executors * res.executor_cpus
            + res.scorers * res.scorer_cpus + learner_ranks * res.learner_cpus)


TOKEN_FILE = Path.home() / ".ray" / "auth_token"
RAY_WORKER_TITLE = "ray::"  # how Ray titles its worker processes (ray::SamplerActor.sample)


def _is_ray(proc: psutil.Process) -> bool:
    try:
        cmdline = " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return cmdline.startswith(RAY_WORKER_TITLE) or "raylet" in cmdline


def reap_orphans() -> list[str]:
    """SIGKILL this user's Ray worker processes whose raylet is gone (a run killed outright
    takes its local cluster with it, but its actors can spin on for minutes: a sampler at
    100 % CPU); returns what was killed, one line printed each.  A worker of a live cluster
    is a raylet's child, and a process an actor forked has the actor as parent: neither is
    touched."""
    me, killed = os.getuid(), []
    for proc in psutil.process_iter(["pid", "uids", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
        if not cmdline.startswith(RAY_WORKER_TITLE) or proc.info["uids"] is None or proc.info["uids"].real != me:
            continue
        try:
            parent = proc.parent()
            if parent is not None and parent.pid != 1 and _is_ray(parent):
                continue
            proc.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        killed.append(f"{cmdline.split()[0]} (pid {proc.pid})")
        print(f"killed {killed[-1]}: a Ray worker left behind by a run killed outright", flush=True)
    return killed


def connect(res: ResourcesConfig, learner_ranks: int) -> None:
    """Join the cluster named by RAY_ADDRESS, or start a local one that fits the run (on
    127.0.0.1 only: see ``rayapps/__init__``; first reaping what a killed run left).  Ray's
    token file is made private to its owner (Ray writes it readable by everyone)."""
    if ray.is_initialized():
        return
    if os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=True)
    else:
        reap_orphans()
        cpus = max(os.cpu_count() or 1, math.ceil(peak_cpus(res, learner_ranks)))
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=True)
    if TOKEN_FILE.is_file():
        TOKEN_FILE.chmod(0o600)


def task_options(cpus: float, gpus: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``.options(...)`` for a remote function: resources, ``DEFAULT_ENV`` (set before its
    first import, whatever the driver's environment) and a thread count matching its CPUs."""
    threads = str(max(1, math.ceil(cpus)))
    env_vars = {**DEFAULT_ENV, "OMP_NUM_THREADS": threads, **(env or {})}
    return {"num_cpus": cpus, "num_gpus": gpus, "runtime_env": {"env_vars": env_vars}}


def actor_options(cpus: float, gpus: float, env: dict[str, str] | None = None,
                  max_restarts: int = 0) -> dict[str, Any]:
    """``.options(...)`` for a role actor: ``task_options``; Ray restarts its process up to
    ``max_restarts`` times, and never retries a task itself (``max_task_retries`` 0): the
    pipeline re-issues what a death failed, so it counts and reports every re-run."""
    return {**task_options(cpus, gpus, env), "max_restarts": max_restarts, "max_task_retries": 0}


def role_options(res: ResourcesConfig, role: Role) -> dict[str, Any]:
    """``actor_options`` for an actor of ``role`` (sampler, executor, scorer, learner) from
    ``resources``: its CPUs and GPUs, its custom resources (``resources.custom``, which pin
    it to node types), and ``max_restarts``, except for learner ranks, which Ray never
    restarts (a rank alone cannot rejoin its group: the controller rebuilds the group)."""
    options = actor_options(getattr(res, f"{role}_cpus"), getattr(res, f"{role}_gpus", 0.0),
                            max_restarts=0 if role == "learner" else res.max_restarts)
    if res.custom.get(role):
        options["resources"] = dict(res.custom[role])
    return options
