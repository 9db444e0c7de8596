"""Scorer role: turns execution results into rewards against the tasks' annotations."""

from __future__ import annotations

from visrep.programs.records import ExecResult
from visrep.rewards import Reward, score
from visrep.world.records import Task


class ScorerActor:
    """Stateless; a separate role so reward work (e.g. a learned judge later) scales apart."""

    def score(self, tasks: list[Task], results: list[list[ExecResult | None]]) -> list[list[Reward | None]]:
        """Rewards mirroring ``results``: one list per task, one reward per program (None for
        a program not run, as attribution leaves the ones it need not rerun)."""
        if len(tasks) != len(results):
            raise ValueError(f"{len(tasks)} tasks for {len(results)} result lists")
        return [[None if r is None else score(task, r) for r in rs] for task, rs in zip(tasks, results)]
