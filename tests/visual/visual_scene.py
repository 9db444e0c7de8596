"""One hand-built 128×128 scene for the oracle and ImagePatch tests, and its oracle
counting the calls that reach it.

Objects are listed out of left-to-right order so that sorting by ``find`` is observable:
circle (large, blue, striped) centre right, triangle (small, green, dotted) top right,
square (small, red, striped) bottom left, star (small, red, solid) top left.
"""

from __future__ import annotations

from typing import Any

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.visual.oracle import OracleBackend
from visrep.world.records import Scene, SceneObject

CIRCLE = SceneObject("circle", "blue", "large", "striped", (60.0, 50.0, 110.0, 100.0))
TRIANGLE = SceneObject("triangle", "green", "small", "dotted", (90.0, 10.0, 110.0, 30.0))
SQUARE = SceneObject("square", "red", "small", "striped", (20.0, 90.0, 40.0, 110.0))
STAR = SceneObject("star", "red", "small", "solid", (10.0, 10.0, 30.0, 30.0))
SCENE = Scene("img0", 128, 128, (CIRCLE, TRIANGLE, SQUARE, STAR))
FULL = (0.0, 0.0, 128.0, 128.0)
LEFT_HALF = (0.0, 0.0, 64.0, 128.0)


class Counting:
    """The oracle over ``SCENE``, counting the calls that reach it."""

    def __init__(self) -> None:
        self.inner, self.calls = OracleBackend({SCENE.image_id: SCENE}), 0

    def __getattr__(self, name: str) -> Any:
        self.calls += 1
        return getattr(self.inner, name)
