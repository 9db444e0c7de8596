"""Shape outlines as pixel masks: the single source of an object's drawn extent.

Scene generation takes an object's box size from the same cached mask the renderer
pastes, so a box is by construction the exact bounding box of the drawn pixels
(x1, y1 exclusive: width = x1 - x0 pixels).
"""

from __future__ import annotations

import math
from functools import cache

from PIL import Image, ImageDraw

# Side of an object's square canvas as a fraction of the image side, by size class.
SIDE_FRACTION: dict[str, float] = {"small": 0.14, "large": 0.26}


def object_side(size: str, image_size: int) -> int:
    """Canvas side in pixels of an object of this size class."""
    return max(6, round(SIDE_FRACTION[size] * image_size))


def _regular(n: int, radius: float = 0.5, phase: float = -math.pi / 2) -> list[tuple[float, float]]:
    return [
        (0.5 + radius * math.cos(phase + 2 * math.pi * k / n),
         0.5 + radius * math.sin(phase + 2 * math.pi * k / n))
        for k in range(n)
    ]


def _star() -> list[tuple[float, float]]:
    outer, inner = _regular(5), _regular(5, 0.2, -math.pi / 2 + math.pi / 5)
    return [p for pair in zip(outer, inner) for p in pair]


_A, _B = 1 / 3, 2 / 3  # the cross's arm edges
_OUTLINES: dict[str, list[tuple[float, float]]] = {
    "circle": _regular(48),
    "square": [(0.08, 0.08), (0.92, 0.08), (0.92, 0.92), (0.08, 0.92)],
    "triangle": [(0.5, 0.05), (1.0, 0.92), (0.0, 0.92)],
    "star": _star(),
    "hexagon": _regular(6, phase=0.0),
    "pentagon": _regular(5),
    "diamond": [(0.5, 0.0), (0.82, 0.5), (0.5, 1.0), (0.18, 0.5)],
    "cross": [(_A, 0), (_B, 0), (_B, _A), (1, _A), (1, _B), (_B, _B), (_B, 1), (_A, 1),
              (_A, _B), (0, _B), (0, _A), (_A, _A)],
}


@cache
def shape_mask(shape: str, side: int) -> Image.Image:
    """The filled shape (mode "L", 255 inside), cropped to its drawn pixels.

    Cached and shared: callers must not draw on it.
    """
    canvas = Image.new("L", (side, side), 0)
    scale = side - 1
    ImageDraw.Draw(canvas).polygon([(x * scale, y * scale) for x, y in _OUTLINES[shape]], fill=255)
    return canvas.crop(canvas.getbbox())


def mask_size(shape: str, size: str, image_size: int) -> tuple[int, int]:
    """(width, height) of an object's box in pixels."""
    return shape_mask(shape, object_side(size, image_size)).size
