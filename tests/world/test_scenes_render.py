from __future__ import annotations

import itertools
import random
from dataclasses import replace

import numpy as np

from visrep.world.records import COLORS, PATTERNS, SHAPES, SIZES, Scene
from visrep.world.render import BACKGROUND, render_scene
from visrep.world.scenes import generate_scene, overlaps, place_object


def test_box_is_exact_drawn_extent() -> None:
    """Every shape × size × pattern: the non-background pixels span exactly the box."""
    rng = random.Random(0)
    for shape, size, pattern in itertools.product(SHAPES, SIZES, PATTERNS):
        obj = place_object(rng, shape, rng.choice(COLORS), size, pattern, (), 128)
        pixels = np.array(render_scene(Scene("x", 128, 128, (obj,))))
        ys, xs = np.nonzero((pixels != BACKGROUND).any(axis=-1))
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == obj.box, (shape, size, pattern)


def test_patterns_are_distinct() -> None:
    """The fine-grained attribute must be visible: three different pixel patterns."""
    rng = random.Random(1)
    square = place_object(rng, "square", "red", "large", "solid", (), 128)
    images = {p: np.array(render_scene(Scene("x", 128, 128, (replace(square, pattern=p),)))) for p in PATTERNS}
    colors = {p: len(np.unique(im.reshape(-1, 3), axis=0)) for p, im in images.items()}
    assert colors == {"solid": 2, "striped": 3, "dotted": 3}  # background + 1 or 2 shades
    assert (images["striped"] != images["dotted"]).any()


def test_scenes_have_disjoint_boxes_inside_image() -> None:
    for seed in range(200):
        scene = generate_scene(random.Random(seed), "x", 96, 2, 6)
        assert 2 <= len(scene.objects) <= 6
        for a, b in itertools.combinations(scene.objects, 2):
            assert not overlaps(a.box, b.box, gap=0)
        assert all(0 <= o.box[0] < o.box[2] <= 96 and 0 <= o.box[1] < o.box[3] <= 96 for o in scene.objects)


def test_generate_scene_is_deterministic() -> None:
    assert generate_scene(random.Random(5), "a", 128, 2, 5) == generate_scene(random.Random(5), "a", 128, 2, 5)
    assert generate_scene(random.Random(5), "a", 128, 2, 5) != generate_scene(random.Random(6), "a", 128, 2, 5)
