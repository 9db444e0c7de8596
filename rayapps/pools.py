"""The role actors a phase runs on, spawned from the config the same way for every job.

``rayapps.selftrain`` and ``rayapps.evaluate`` both build their samplers, executors and
scorers here, so an evaluation's numbers come from the very pieces the loop's eval phase
uses.  Each role is its own function because a job may not need all three: a baseline's
programs are given, so it spawns no sampler.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ray

from actors.executor import ExecutorActor
from actors.sampler import Policy, SamplerActor
from actors.scorer import ScorerActor
from rayapps.cluster import role_options
from rayapps.inputs import Inputs
from rayapps.pipeline import Pools
from visrep.config import Config
from visrep.selftrain.attribution import Attribution
from visrep.selftrain.examples import Seed


def spawn_samplers(cfg: Config, model_dir: Path, version: int, seeds: list[Seed]) -> list[Any]:
    """``resources.samplers`` vLLM engines serving ``model_dir`` as policy ``version``,
    each seeded apart (``run.seed + n``); they fetch the weights of a ``Policy`` with
    ``ray.get`` (from the object store, wherever they run)."""
    # the KV cache size travels in the sampler config (vLLM's kwarg); its legacy env var
    # VLLM_CPU_KVCACHE_SPACE takes whole GiB only and would override it
    return [ray.remote(SamplerActor).options(**role_options(cfg.resources, "sampler")).remote(
                str(model_dir), version, cfg.policy, cfg.sampler, seeds, cfg.run.seed + n, ray.get)
            for n in range(cfg.resources.samplers)]


def spawn_executors(cfg: Config, inputs: Inputs) -> list[Any]:
    """``resources.executors`` sandbox executors on ``inputs`` with the ``visual`` backend."""
    return [ray.remote(ExecutorActor).options(**role_options(cfg.resources, "executor"))
            .remote(inputs.world, cfg.visual, cfg.executor, inputs.student) for _ in range(cfg.resources.executors)]


def spawn_scorers(cfg: Config) -> list[Any]:
    """``resources.scorers`` reward scorers."""
    return [ray.remote(ScorerActor).options(**role_options(cfg.resources, "scorer")).remote()
            for _ in range(cfg.resources.scorers)]


def attribution(cfg: Config) -> Attribution | None:
    """How phases attribute failures: with pixel tools and ``visual.attribute``, at the
    filter's reward threshold; None with the oracle's tools (nothing to attribute)."""
    if cfg.visual.backend == "oracle" or not cfg.visual.attribute:
        return None
    return Attribution(cfg.selftrain.reward_threshold)


def spawn_pools(cfg: Config, inputs: Inputs, model_dir: Path, version: int, seeds: list[Seed],
                samplers: bool = True) -> Pools:
    """All three roles: what a phase that samples (grow, eval) runs on; without ``samplers``
    what one that runs given programs does (they can be spawned later)."""
    return Pools(spawn_samplers(cfg, model_dir, version, seeds) if samplers else [],
                 spawn_executors(cfg, inputs), spawn_scorers(cfg), cfg.visual.backend, attribution(cfg),
                 policy=Policy(version, str(Path(model_dir).resolve())), inputs=inputs)
