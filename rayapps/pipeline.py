"""Tasks → programs → results → rewards, pipelined across actor pools with ``ray.wait``.

Every batch's three calls are submitted at once, chained by ObjectRefs: Ray starts an
executor call as soon as its sampler batch exists and a scorer call as soon as its
results do, so sampling of batch n+1 overlaps execution of batch n.  The driver only
waits on the last link of each chain (never ``ray.get`` in a loop) and fetches batches
that are already finished.  A baseline's programs are given rather than sampled
(``run_given``): they enter the same chain as an object in the store, so the executors and
scorers see the same calls either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ray
from tqdm import tqdm

from visrep.config import PromptConfig
from visrep.programs.records import Program, SampleBatch
from visrep.selftrain.trajectories import make_row
from visrep.world.records import Task


@dataclass
class Pools:
    """Handles of the live role actors (lists, used round robin)."""

    samplers: list[Any]
    executors: list[Any]
    scorers: list[Any]


@dataclass
class PhaseOutput:
    """Trajectory rows of a phase plus what the samplers reported."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    tokens: int = 0
    sample_s: float = 0.0
    wall_s: float = 0.0


# (batch number, the batch's tasks) -> an ObjectRef of the batch's SampleBatch
SampleCall = Callable[[int, list[Task]], Any]


def run_phase(pools: Pools, tasks: list[Task], *, iteration: int, phase: str, k: int,
              temperature: float, prompt: PromptConfig, batch_tasks: int) -> PhaseOutput:
    """Sample ``k`` programs per task, execute and score them; rows in task order."""
    def sample(n: int, batch: list[Task]) -> Any:
        return pools.samplers[n % len(pools.samplers)].sample.remote(batch, k, temperature, prompt)

    return _pipeline(pools, tasks, sample, iteration=iteration, phase=phase, batch_tasks=batch_tasks)


def run_eval(pools: Pools, tasks: list[Task], *, iteration: int, prompt: PromptConfig,
             batch_tasks: int, phase: str = "eval") -> PhaseOutput:
    """The evaluation phase: one greedy program per task (``k`` 1, temperature 0)."""
    return run_phase(pools, tasks, iteration=iteration, phase=phase, k=1, temperature=0.0,
                     prompt=prompt, batch_tasks=batch_tasks)


def run_given(pools: Pools, tasks: list[Task], program: Callable[[Task], str], *, phase: str,
              batch_tasks: int) -> PhaseOutput:
    """Execute and score ``program(task)``, one per task (a baseline: no sampler needed)."""
    def given(n: int, batch: list[Task]) -> Any:
        return ray.put(SampleBatch([[Program(task.id, program(task))] for task in batch]))

    return _pipeline(pools, tasks, given, iteration=0, phase=phase, batch_tasks=batch_tasks)


def _pipeline(pools: Pools, tasks: list[Task], sampled_by: SampleCall, *, iteration: int, phase: str,
              batch_tasks: int) -> PhaseOutput:
    """Chain ``sampled_by`` → execute → score per batch of ``batch_tasks``; rows in task order."""
    start = time.perf_counter()
    batches = [tasks[i:i + batch_tasks] for i in range(0, len(tasks), batch_tasks)]
    chains: dict[Any, tuple[int, Any, Any]] = {}
    for n, batch in enumerate(batches):
        sampled = sampled_by(n, batch)
        executed = pools.executors[n % len(pools.executors)].run.remote(batch, sampled)
        scored = pools.scorers[n % len(pools.scorers)].score.remote(batch, executed)
        chains[scored] = (n, sampled, executed)
    per_batch: dict[int, list[dict[str, Any]]] = {}
    out = PhaseOutput()
    pending = list(chains)
    with tqdm(total=len(tasks), desc=f"iter {iteration} {phase}", unit="task") as bar:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            n, sampled_ref, executed_ref = chains[ready[0]]
            sample, results, rewards = ray.get([sampled_ref, executed_ref, ready[0]])
            per_batch[n] = [
                make_row(iteration, phase, j, task, prog, res, rew)
                for task, progs, ress, rews in zip(batches[n], sample.programs, results, rewards)
                for j, (prog, res, rew) in enumerate(zip(progs, ress, rews))
            ]
            out.tokens += sample.tokens
            out.sample_s += sample.seconds
            bar.update(len(batches[n]))
    out.rows = [row for n in range(len(batches)) for row in per_batch[n]]
    out.wall_s = time.perf_counter() - start
    return out
