"""Executor role: runs programs in the sandbox with the visual API bound to one backend."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from visrep.config import ExecutorConfig, VisualConfig
from visrep.programs.executor import ORACLE, executor_for_world
from visrep.programs.records import ExecResult, SampleBatch
from visrep.rewards.records import Reward
from visrep.storage import Bundle, local_dir
from visrep.world.records import Task


class ExecutorActor:
    """Loads the world's scenes and the visual backend once, then serves many programs.

    The sandbox workers are forked here, after the backend is built, so they share its
    memory; tool calls are answered in this process through a per-image memo that lasts
    as long as the actor (the K samples of a task, and later iterations, reuse it).
    """

    def __init__(self, world: str | Bundle, visual: VisualConfig, limits: ExecutorConfig,
                 student: Bundle | None = None) -> None:
        """``world`` and ``student`` as ``visrep.storage`` hands them over (a path every node
        has, or a bundle unpacked in this node's scratch); ``student`` replaces
        ``visual.student_dir``, a path on the controller's disk."""
        if student is not None:
            visual = replace(visual, student_dir=str(local_dir(student)))
        self._executor = executor_for_world(local_dir(world), visual, limits)

    def run(self, tasks: list[Task], batch: SampleBatch, start: int = 0) -> list[list[ExecResult]]:
        """Execute every program of ``tasks``, which are the batch's program lists from
        ``start`` on (a part of a sampler batch: the pipeline spreads one batch over every
        executor); results mirror the nesting of those lists."""
        programs = batch.part(start, len(tasks))
        items = [(p.source, task) for task, progs in zip(tasks, programs) for p in progs]
        flat = iter(self._executor.run(items))
        return [[next(flat) for _ in progs] for progs in programs]

    def rerun_with_oracle(self, tasks: list[Task], batch: SampleBatch, results: list[list[ExecResult]],
                          rewards: list[list[Reward]], below: float, start: int = 0) -> list[list[ExecResult | None]]:
        """Attribution: run again, with the oracle's tools, every program of ``tasks`` (the
        batch's from ``start`` on, as ``run``) whose reward under this executor's backend was
        below ``below`` (None for the others, and for programs the validator rejected, which
        no tool could have saved).  Needs ``visual.attribute``."""
        programs = batch.part(start, len(tasks))
        wanted = [(i, j) for i, (ress, rews) in enumerate(zip(results, rewards))
                  for j, (res, rew) in enumerate(zip(ress, rews)) if rew.value < below and res.status != "rejected"]
        reran = iter(self._executor.run([(programs[i][j].source, tasks[i]) for i, j in wanted], tools=ORACLE))
        out: list[list[ExecResult | None]] = [[None] * len(progs) for progs in programs]
        for i, j in wanted:
            out[i][j] = next(reran)
        return out

    def rejudge(self, calls: list[dict[str, Any]]) -> list[bool]:
        """Whether this executor's backend now answers each judged call (a ``tool_calls``
        row, maybe recorded under another student) as the oracle does: the tool-error rate
        of a new student on exactly the calls an old one was asked."""
        return self._executor.rejudge(calls)

    def close(self) -> None:
        """Kill the sandbox workers (they also die with this process)."""
        self._executor.close()

