"""Draw a scene: flat shapes on a light background, patterns in a darker shade of the colour.

A pattern is the fine-grained attribute the distillation experiments care about, so it is
drawn inside the shape only (a stripe or dot mask multiplied by the shape mask) and never
changes the shape's extent, which keeps every box exact.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image, ImageChops

from visrep.world.geometry import object_side, shape_mask
from visrep.world.records import Scene, SceneObject

BACKGROUND = (236, 236, 228)
RGB: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220),
    "yellow": (240, 210, 30), "purple": (140, 60, 190), "orange": (245, 140, 20),
    "cyan": (30, 200, 210), "gray": (130, 130, 130),
}
SHADE = 0.5  # pattern colour = object colour times this


@cache
def _pattern_mask(shape: str, side: int, pattern: str) -> Image.Image | None:
    """Where the darker shade goes: stripes or dots clipped to the shape; None if solid."""
    mask = shape_mask(shape, side)
    w, h = mask.size
    y, x = np.mgrid[0:h, 0:w]
    period = max(4, side // 6)
    if pattern == "solid":
        return None
    if pattern == "striped":
        marks = (x + y) % period < period // 2
    elif pattern == "dotted":
        marks = (x % period < period // 2) & (y % period < period // 2)
    else:
        raise ValueError(f"unknown pattern {pattern!r}")
    return ImageChops.multiply(mask, Image.fromarray((marks * 255).astype(np.uint8), "L"))


def _draw(image: Image.Image, obj: SceneObject) -> None:
    side = object_side(obj.size, image.width)
    mask = shape_mask(obj.shape, side)
    x0, y0, x1, y1 = (int(v) for v in obj.box)
    if mask.size != (x1 - x0, y1 - y0):
        raise ValueError(f"box {obj.box} is not the extent of a {obj.size} {obj.shape}")
    color = RGB[obj.color]
    image.paste(color, (x0, y0), mask)
    marks = _pattern_mask(obj.shape, side, obj.pattern)
    if marks is not None:
        image.paste(tuple(int(c * SHADE) for c in color), (x0, y0), marks)


def render_scene(scene: Scene) -> Image.Image:
    """The scene as an RGB image of scene.width × scene.height pixels."""
    image = Image.new("RGB", (scene.width, scene.height), BACKGROUND)
    for obj in scene.objects:
        _draw(image, obj)
    return image
