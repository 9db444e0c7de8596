"""The run directory: where each stage leaves its output, and how a rerun resumes.

Layout (``i`` = iteration, zero-padded)::

    <run>/config.yaml            the resolved config of the first start
    <run>/world/                 the generated world (or run.world.dir elsewhere)
    <run>/iter_000/checkpoint/   the starting policy (after warm start, if any)
    <run>/iter_000/eval.parquet  held-out programs of the starting policy
    <run>/iter_00i/grow.parquet  all K programs per training task, executed and scored
    <run>/iter_00i/checkpoint/   the policy fine-tuned on the filtered programs
    <run>/iter_00i/eval.parquet
    <run>/iter_00i/<stage>.done  a JSON marker with the stage's metrics, written last

A stage is finished only when its marker exists; markers are written after the stage's
output, atomically, so rerunning the same command skips every finished stage and redoes
at most the one a crash interrupted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class RunDir:
    """Paths and stage markers of one run."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def iteration(self, i: int) -> Path:
        return self.root / f"iter_{i:03d}"

    def checkpoint(self, i: int) -> Path:
        return self.iteration(i) / "checkpoint"

    def trajectories(self, i: int, phase: str) -> Path:
        return self.iteration(i) / f"{phase}.parquet"

    def _marker(self, i: int, stage: str) -> Path:
        return self.iteration(i) / f"{stage}.done"

    def done(self, i: int, stage: str) -> bool:
        return self._marker(i, stage).is_file()

    def stage_info(self, i: int, stage: str) -> dict[str, Any]:
        """The metrics a finished stage recorded (so a resumed run can re-log them)."""
        return json.loads(self._marker(i, stage).read_text())

    def mark_done(self, i: int, stage: str, info: dict[str, Any]) -> None:
        path = self._marker(i, stage)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(info, indent=1, sort_keys=True, default=str))
        os.replace(tmp, path)

    def latest_checkpoint(self, upto: int) -> tuple[int, Path]:
        """The newest finished checkpoint at or below iteration ``upto``."""
        for i in range(upto, -1, -1):
            if self.done(i, "improve") or (i == 0 and self.done(0, "init")):
                return i, self.checkpoint(i)
        raise FileNotFoundError(f"{self.root}: no finished checkpoint at or below iteration {upto}")
