"""Executor role: runs programs in the sandbox with the visual API bound to one backend."""

from __future__ import annotations

from pathlib import Path

from visrep.config import ExecutorConfig, VisualConfig
from visrep.programs.executor import executor_for_world
from visrep.programs.records import ExecResult, SampleBatch
from visrep.world.records import Task


class ExecutorActor:
    """Loads the world's scenes and the visual backend once, then serves many programs.

    The sandbox workers are forked here, after the backend is built, so they share its
    memory; tool calls are answered in this process through a per-image memo that lasts
    as long as the actor (the K samples of a task, and later iterations, reuse it).
    """

    def __init__(self, world_dir: str, visual: VisualConfig, limits: ExecutorConfig) -> None:
        self._executor = executor_for_world(Path(world_dir), visual, limits)

    def run(self, tasks: list[Task], batch: SampleBatch) -> list[list[ExecResult]]:
        """Execute every program of every task; results mirror the nesting of the batch."""
        if len(tasks) != len(batch.programs):
            raise ValueError(f"{len(tasks)} tasks for {len(batch.programs)} program lists")
        items = [(p.source, task) for task, progs in zip(tasks, batch.programs) for p in progs]
        flat = iter(self._executor.run(items))
        return [[next(flat) for _ in progs] for progs in batch.programs]

    def close(self) -> None:
        """Kill the sandbox workers (they also die with this process)."""
        self._executor.close()
