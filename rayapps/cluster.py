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

import ray

from visrep import DEFAULT_ENV
from visrep.config import ResourcesConfig


def peak_cpus(res: ResourcesConfig, learner_ranks: int) -> float:
    """Logical CPUs the run holds at its busiest (all roles alive during improve)."""
    return (res.samplers * res.sampler_cpus + res.executors * res.executor_cpus
            + res.scorers * res.scorer_cpus + learner_ranks * res.learner_cpus)


TOKEN_FILE = Path.home() / ".ray" / "auth_token"


def connect(res: ResourcesConfig, learner_ranks: int) -> None:
    """Join the cluster named by RAY_ADDRESS, or start a local one that fits the run (on
    127.0.0.1 only: see ``rayapps/__init__``).  Ray's token file is made private to its
    owner (Ray writes it readable by everyone)."""
    if ray.is_initialized():
        return
    if os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=True)
    else:
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
