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
from visrep.programs.records import ExecResult, Program, SampleBatch
from visrep.rewards.records import Reward
from visrep.selftrain.attribution import Attribution, call_rows, failure_class, tool_errors
from visrep.selftrain.trajectories import make_row
from visrep.world.records import Task


@dataclass
class Pools:
    """Handles of the live role actors (lists, used round robin), and how phases attribute
    failures (None: the tools are the oracle's, nothing to attribute)."""

    samplers: list[Any]
    executors: list[Any]
    scorers: list[Any]
    backend: str = "oracle"
    attribution: Attribution | None = None


@dataclass
class PhaseOutput:
    """Trajectory rows of a phase plus what the samplers reported."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)  # distinct judged tool calls (attribution)
    rerun_all: bool = False  # every program (not only the failed) was rerun with the oracle's tools
    tokens: int = 0
    sample_s: float = 0.0
    wall_s: float = 0.0


# (batch number, the batch's tasks) -> an ObjectRef of the batch's SampleBatch
SampleCall = Callable[[int, list[Task]], Any]


def run_phase(pools: Pools, tasks: list[Task], *, iteration: int, phase: str, k: int,
              temperature: float, prompt: PromptConfig, batch_tasks: int, rerun_all: bool = False) -> PhaseOutput:
    """Sample ``k`` programs per task, execute and score them; rows in task order."""
    def sample(n: int, batch: list[Task]) -> Any:
        return pools.samplers[n % len(pools.samplers)].sample.remote(batch, k, temperature, prompt)

    return _pipeline(pools, tasks, sample, iteration=iteration, phase=phase, batch_tasks=batch_tasks,
                     rerun_all=rerun_all)


def run_eval(pools: Pools, tasks: list[Task], *, iteration: int, prompt: PromptConfig,
             batch_tasks: int, phase: str = "eval") -> PhaseOutput:
    """The evaluation phase: one greedy program per task (``k`` 1, temperature 0); with
    attribution every program also runs with the oracle's tools (``oracle_reward``)."""
    return run_phase(pools, tasks, iteration=iteration, phase=phase, k=1, temperature=0.0,
                     prompt=prompt, batch_tasks=batch_tasks, rerun_all=True)


def run_given(pools: Pools, tasks: list[Task], program: Callable[[Task], str], *, phase: str,
              batch_tasks: int) -> PhaseOutput:
    """Execute and score ``program(task)``, one per task (a baseline: no sampler needed)."""
    def given(n: int, batch: list[Task]) -> Any:
        return ray.put(SampleBatch([[Program(task.id, program(task))] for task in batch]))

    return _pipeline(pools, tasks, given, iteration=0, phase=phase, batch_tasks=batch_tasks, rerun_all=True)


def _rows(pools: Pools, iteration: int, phase: str, tasks: list[Task], sample: SampleBatch,
          results: list[list[ExecResult]], rewards: list[list[Reward]],
          oracle: list[list[Reward | None]] | None) -> list[dict[str, Any]]:
    """A batch's trajectory rows, attributed when ``oracle`` holds the oracle reruns' rewards."""
    rows = []
    for i, (task, progs, ress, rews) in enumerate(zip(tasks, sample.programs, results, rewards)):
        for j, (prog, res, rew) in enumerate(zip(progs, ress, rews)):
            extra: dict[str, Any] = {"backend": pools.backend}
            if oracle is not None and pools.attribution is not None:
                again = None if oracle[i][j] is None else oracle[i][j].value  # type: ignore[union-attr]
                errors = tool_errors(res.calls)
                extra.update(oracle_reward=again, tool_errors=errors,
                             failure=failure_class(rew.value, again, errors, pools.attribution.threshold))
            rows.append(make_row(iteration, phase, j, task, prog, res, rew, **extra))
    return rows


def _pipeline(pools: Pools, tasks: list[Task], sampled_by: SampleCall, *, iteration: int, phase: str,
              batch_tasks: int, rerun_all: bool = False) -> PhaseOutput:
    """Chain ``sampled_by`` → execute → score per batch of ``batch_tasks`` (and with
    attribution → rerun the failed, or with ``rerun_all`` every, program with the oracle's
    tools → score those); rows in task order."""
    start = time.perf_counter()
    batches = [tasks[i:i + batch_tasks] for i in range(0, len(tasks), batch_tasks)]
    chains: dict[Any, tuple[int, list[Any]]] = {}
    attribution = pools.attribution
    below = None if attribution is None else (float("inf") if rerun_all else attribution.threshold)
    for n, batch in enumerate(batches):
        executor, scorer = pools.executors[n % len(pools.executors)], pools.scorers[n % len(pools.scorers)]
        sampled = sampled_by(n, batch)
        executed = executor.run.remote(batch, sampled)
        scored = scorer.score.remote(batch, executed)
        links = [sampled, executed, scored]
        if below is not None:
            links.append(scorer.score.remote(batch, executor.rerun_with_oracle.remote(
                batch, sampled, executed, scored, below)))
        chains[links[-1]] = (n, links)
    per_batch: dict[int, list[dict[str, Any]]] = {}
    out = PhaseOutput(rerun_all=rerun_all and attribution is not None)
    pending = list(chains)
    with tqdm(total=len(tasks), desc=f"iter {iteration} {phase}", unit="task") as bar:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            n, links = chains[ready[0]]
            sample, results, rewards, *oracle = ray.get(links)
            per_batch[n] = _rows(pools, iteration, phase, batches[n], sample, results, rewards,
                                 oracle[0] if oracle else None)
            if attribution is not None:
                out.calls += [c for per_task in results for r in per_task for c in r.calls]
            out.tokens += sample.tokens
            out.sample_s += sample.seconds
            bar.update(len(batches[n]))
    out.rows = [row for n in range(len(batches)) for row in per_batch[n]]
    out.calls = call_rows(iteration, phase, out.calls)
    out.wall_s = time.perf_counter() - start
    return out
