"""Executor role: runs programs in the sandbox with the visual API bound to one backend."""

from __future__ import annotations

from pathlib import Path

from visrep.config import ExecutorConfig, VisualConfig
from visrep.programs.records import ExecResult, SampleBatch
from visrep.selftrain.execute import execute
from visrep.visual.backend import make_backend
from visrep.world import image_path, load_scenes
from visrep.world.records import Task


class ExecutorActor:
    """Loads the world's scenes and the visual backend once, then serves many programs."""

    def __init__(self, world_dir: str, visual: VisualConfig, limits: ExecutorConfig) -> None:
        root = Path(world_dir)
        scenes = load_scenes(root)
        self._sizes = {i: (s.width, s.height) for i, s in scenes.items()}
        self._backend = make_backend(visual.backend, scenes, image_path(root, "").parent)
        self._limits = limits

    def run(self, tasks: list[Task], batch: SampleBatch) -> list[list[ExecResult]]:
        """Execute every program of every task; results mirror the nesting of the batch."""
        if len(tasks) != len(batch.programs):
            raise ValueError(f"{len(tasks)} tasks for {len(batch.programs)} program lists")
        return [
            [execute(p.source, task, self._backend, self._sizes, self._limits) for p in progs]
            for task, progs in zip(tasks, batch.programs)
        ]
