"""Connecting to Ray and spawning role actors with their resources.

The same entry point runs on a laptop and under ``ray job submit``: with ``RAY_ADDRESS``
set (a job, or a user pointing at a cluster) it connects; without, it starts a local
cluster sized so every actor of the run fits at once.
"""

from __future__ import annotations

import math
import os
from typing import Any

import ray

from visrep.config import ResourcesConfig

# Every actor process gets these: no hub downloads, vLLM's engine in the actor's own
# process (a spawned EngineCore would miss the torchvision fix), no telemetry.
ACTOR_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "TOKENIZERS_PARALLELISM": "false",
}


def peak_cpus(res: ResourcesConfig, learner_ranks: int) -> float:
    """Logical CPUs the run holds at its busiest (all roles alive during improve)."""
    return (res.samplers * res.sampler_cpus + res.executors * res.executor_cpus
            + res.scorers * res.scorer_cpus + learner_ranks * res.learner_cpus)


def connect(res: ResourcesConfig, learner_ranks: int) -> None:
    """Join the cluster named by RAY_ADDRESS, or start a local one that fits the run."""
    if ray.is_initialized():
        return
    if os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=True)
        return
    cpus = max(os.cpu_count() or 1, math.ceil(peak_cpus(res, learner_ranks)))
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=True)


def actor_options(cpus: float, gpus: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``.options(...)`` for a role: resources, and a thread count matching its CPUs."""
    threads = str(max(1, math.ceil(cpus)))
    env_vars = {**ACTOR_ENV, "OMP_NUM_THREADS": threads, **(env or {})}
    return {"num_cpus": cpus, "num_gpus": gpus, "runtime_env": {"env_vars": env_vars},
            "max_restarts": 0}
