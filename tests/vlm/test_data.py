"""The class split (disjoint, balanced, deterministic), crops and augmentation."""

from pathlib import Path

import torch
from PIL import Image

from visrep.vlm.data import CLASSES, augment, load_crops, object_crop, split_classes, square_box
from visrep.world.records import COLORS, SHAPES


def test_split_is_disjoint_complete_and_half() -> None:
    split = split_classes(0)
    assert not set(split.id_classes) & set(split.ood_classes)
    assert set(split.id_classes) | set(split.ood_classes) == set(CLASSES)
    assert len(split.id_classes) == len(split.ood_classes) == len(CLASSES) // 2


def test_every_colour_and_shape_in_both_halves_exactly_balanced() -> None:
    for seed in range(5):
        split = split_classes(seed)
        for half in (split.id_classes, split.ood_classes):
            colors = [c.split()[0] for c in half]
            shapes = [c.split()[1] for c in half]
            assert all(colors.count(c) == len(SHAPES) // 2 for c in COLORS)
            assert all(shapes.count(s) == len(COLORS) // 2 for s in SHAPES)


def test_split_is_deterministic_and_seeded() -> None:
    assert split_classes(1) == split_classes(1)
    assert split_classes(1) != split_classes(2)


def test_square_box_and_crop_outside_the_image_is_background() -> None:
    assert square_box((10, 10, 20, 14), 0.0) == (10, 7, 20, 17)
    image = Image.new("RGB", (20, 20), (255, 0, 0))
    crop = object_crop(image, (0, 0, 10, 10), margin=0.5, size=8)
    assert crop.size == (8, 8)
    assert crop.getpixel((0, 0)) != (255, 0, 0)  # outside the image: background colour
    assert crop.getpixel((5, 5)) == (255, 0, 0)


def test_crops_labels_and_train_heldout_split(vlm_world: Path) -> None:
    crops = load_crops(vlm_world, size=16, margin=0.1, train_fraction=0.7, seed=0)
    n = len(crops.labels)
    assert crops.images.shape == (n, 3, 16, 16) and crops.images.dtype == torch.uint8
    assert 0.55 < float(crops.train.float().mean()) < 0.85
    again = load_crops(vlm_world, size=16, margin=0.1, train_fraction=0.7, seed=0)
    assert torch.equal(crops.train, again.train) and torch.equal(crops.images, again.images)
    for c in crops.labels.unique():  # every class with 2+ crops has both parts
        mine = crops.labels == c
        if int(mine.sum()) >= 2:
            assert crops.train[mine].any() and (~crops.train[mine]).any()
    split = split_classes(0)
    assert not (crops.of_classes(split.id_classes) & crops.of_classes(split.ood_classes)).any()


def test_augment_keeps_shape_and_range() -> None:
    x = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    gen = torch.Generator().manual_seed(0)
    out = augment(x, gen)
    assert out.shape == (4, 3, 16, 16) and float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.allclose(out, x.float() / 255)


def test_crops_carry_each_objects_pattern(vlm_world: Path) -> None:
    from visrep.world import load_scenes
    from visrep.world.records import PATTERNS

    crops = load_crops(vlm_world, 16, 0.1, 0.7, seed=0)
    objects = [o for _, s in sorted(load_scenes(vlm_world).items()) for o in s.objects]
    assert crops.patterns.tolist() == [PATTERNS.index(o.pattern) for o in objects]
    assert crops.select(crops.train).patterns.shape == crops.select(crops.train).labels.shape
