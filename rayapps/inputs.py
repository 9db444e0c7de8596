"""What executors load, in the form that reaches them on whichever node Ray puts them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ray

from visrep.config import VisualConfig
from visrep.storage import pack


@dataclass(frozen=True)
class Inputs:
    """What executors load, in the form that reaches them on any node (``visrep.storage``):
    the world as a path when the user named it (their data, on every node), else the world
    the run built on the head, through the object store; the student (with
    ``visual.backend: student``) always through the object store, since it is the
    controller's (distilled into its cache, or re-distilled into its run dir)."""

    world: Any  # str, or an ObjectRef of a Bundle (Ray hands the actor the Bundle)
    student: Any = None  # an ObjectRef of a Bundle, or None

    @staticmethod
    def of(visual: VisualConfig, world: Path, ship_world: bool) -> Inputs:
        """The executors' inputs, put in the object store once for all of them: ``world``
        too when ``ship_world`` (a world the run built), else as its path."""
        return Inputs(ray.put(pack(world)) if ship_world else str(world)).with_student(visual)

    def with_student(self, visual: VisualConfig) -> Inputs:
        """These inputs with ``visual``'s student (none for the oracle backend)."""
        if visual.backend != "student":
            return replace(self, student=None)
        if not visual.student_dir:
            raise ValueError("visual.backend is student but visual.student_dir is empty: no student to hand over")
        return replace(self, student=ray.put(pack(Path(visual.student_dir))))
