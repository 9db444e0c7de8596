"""Random scenes of the shapes world: attributes drawn uniformly, boxes never overlapping.

Boxes are whole pixels taken from the shape's mask (see geometry), so the json written
from a scene reads back to the identical scene and renders to the identical image.
"""

from __future__ import annotations

import random

from visrep.world.geometry import mask_size
from visrep.world.records import COLORS, PATTERNS, SHAPES, SIZES, Box, Scene, SceneObject

GAP = 2  # free pixels kept between boxes, so touching shapes never read as one
_PLACEMENT_TRIES = 200


def overlaps(a: Box, b: Box, gap: float = GAP) -> bool:
    """Whether two boxes come closer than ``gap`` pixels."""
    return not (a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1])


def fits(box: Box, image_size: int, others: tuple[SceneObject, ...]) -> bool:
    """Whether the box lies inside the image and clear of every other object."""
    inside = box[0] >= 0 and box[1] >= 0 and box[2] <= image_size and box[3] <= image_size
    return inside and not any(overlaps(box, o.box) for o in others)


def place_object(
    rng: random.Random, shape: str, color: str, size: str, pattern: str,
    others: tuple[SceneObject, ...], image_size: int,
) -> SceneObject | None:
    """The object at a random free position, or None when no free position was found."""
    w, h = mask_size(shape, size, image_size)
    for _ in range(_PLACEMENT_TRIES):
        x0, y0 = rng.randint(0, image_size - w), rng.randint(0, image_size - h)
        box: Box = (float(x0), float(y0), float(x0 + w), float(y0 + h))
        if fits(box, image_size, others):
            return SceneObject(shape=shape, color=color, size=size, pattern=pattern, box=box)
    return None


def generate_scene(
    rng: random.Random, image_id: str, image_size: int, min_objects: int, max_objects: int,
) -> Scene:
    """A scene of min_objects..max_objects random objects (fewer only if the image is full)."""
    if not 1 <= min_objects <= max_objects:
        raise ValueError(f"need 1 <= min_objects <= max_objects, got {min_objects}, {max_objects}")
    objects: tuple[SceneObject, ...] = ()
    for _ in range(rng.randint(min_objects, max_objects)):
        obj = place_object(
            rng, rng.choice(SHAPES), rng.choice(COLORS), rng.choice(SIZES), rng.choice(PATTERNS),
            objects, image_size,
        )
        if obj is None:
            break
        objects += (obj,)
    if len(objects) < min_objects:
        raise ValueError(f"cannot fit {min_objects} objects in a {image_size}px image")
    return Scene(image_id=image_id, width=image_size, height=image_size, objects=objects)
