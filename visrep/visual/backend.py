"""The tool calls an ``ImagePatch`` delegates to, behind one Protocol.

Backends answer questions about a region (``box``) of one image (``image_id``); they never
see programs.  ``oracle`` reads scene annotations (the upper bound that separates program
errors from tool errors); the ``student`` backend (box proposals and a distilled CLIP,
``visrep.visual.student``) reads pixels from ``images_dir``.  ``exists``/``count`` are
derived from ``find`` in ``ImagePatch``, so a backend implements only the six primitives
below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from visrep.world.records import Box, Scene


class VisualBackend(Protocol):
    """Answers the visual API's primitive questions about ``box`` of image ``image_id``."""

    def find(self, image_id: str, box: Box, name: str) -> list[Box]:
        """Boxes of the objects in ``box`` matching the noun phrase ``name``."""
        ...

    def verify_property(self, image_id: str, box: Box, name: str, prop: str) -> bool:
        """Whether some object ``name`` in ``box`` has the property ``prop``."""
        ...

    def best_text_match(self, image_id: str, box: Box, options: list[str]) -> str:
        """The option that best describes the region."""
        ...

    def simple_query(self, image_id: str, box: Box, question: str) -> str:
        """A short answer to a basic question about the region."""
        ...

    def image_text_score(self, image_id: str, box: Box, text: str) -> float:
        """How well ``text`` describes the region; higher is better."""
        ...


BACKENDS = ("oracle", "student")


def make_backend(name: str, scenes: dict[str, Scene], images_dir: Path,
                 student_dir: str = "") -> VisualBackend:
    """Build the backend named by ``visual.backend``.

    ``images_dir`` is for pixel backends; ``student_dir`` (``visual.student_dir``) is the
    distilled student's dir, which backend "student" needs.
    """
    if name == "oracle":
        from visrep.visual.oracle import OracleBackend

        return OracleBackend(scenes)
    if name == "student":
        from visrep.visual.student import load_student_backend

        return load_student_backend(student_dir, images_dir)
    raise ValueError(f"unknown visual backend {name!r} (known: {', '.join(BACKENDS)})")
