"""Distillation data: object crops of the shapes world, the class split, augmentation.

Classes are the world's colour × shape pairs (64).  The split puts half of them in
distribution and half out of distribution, balanced so that every colour and every shape
occurs in both halves: an OOD class is a *new combination* of a known colour and a known
shape, which is what a compositional text tower lets a student reach zero-shot.  Crops of
every class are split ``train_fraction`` / rest into train / held-out, deterministically.
The embedded teacher trains on the train crops of all classes; students on the train
crops of ID classes only; everybody is evaluated on held-out crops.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from visrep.world import image_path, load_scenes
from visrep.world.records import COLORS, PATTERNS, SHAPES, Box
from visrep.world.render import BACKGROUND

CLASSES: tuple[str, ...] = tuple(f"{c} {s}" for c in COLORS for s in SHAPES)


@dataclass(frozen=True)
class ClassSplit:
    """Disjoint in-distribution and out-of-distribution class names (sorted)."""

    id_classes: tuple[str, ...]
    ood_classes: tuple[str, ...]


def split_classes(seed: int, colors: tuple[str, ...] = COLORS, shapes: tuple[str, ...] = SHAPES) -> ClassSplit:
    """Half of the colour × shape classes ID, half OOD, each colour and shape in both.

    A class (colour i, shape j) is ID when ``(π(i) + σ(j)) mod n`` falls in a random half
    of the offsets, with π, σ random permutations: every colour then has exactly half its
    shapes ID, and with as many colours as shapes every shape has half its colours ID.
    """
    rng = random.Random(f"class-split:{seed}")
    n = len(shapes)
    pi, sigma = list(range(len(colors))), list(range(n))
    rng.shuffle(pi)
    rng.shuffle(sigma)
    offsets = set(rng.sample(range(n), n // 2))
    id_classes = sorted(f"{c} {s}" for i, c in enumerate(colors) for j, s in enumerate(shapes)
                        if (pi[i] + sigma[j]) % n in offsets)
    ood_classes = sorted(f"{c} {s}" for c in colors for s in shapes if f"{c} {s}" not in id_classes)
    return ClassSplit(tuple(id_classes), tuple(ood_classes))


def square_box(box: Box, margin: float) -> tuple[int, int, int, int]:
    """The box grown by ``margin`` of its longer side on every side, made square."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * margin)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    half = side / 2.0
    return (round(cx - half), round(cy - half), round(cx + half), round(cy + half))


def object_crop(image: Image.Image, box: Box, margin: float, size: int | None = None) -> Image.Image:
    """The object's square crop with a margin (outside the image filled with background),
    resized to ``size`` when given.  The crop the student was trained on: use it for
    boxes at inference too."""
    x0, y0, x1, y1 = square_box(box, margin)
    rgb = image.convert("RGB")
    crop = Image.new("RGB", (x1 - x0, y1 - y0), BACKGROUND)  # outside the image: background
    inside = rgb.crop((max(0, x0), max(0, y0), min(rgb.width, x1), min(rgb.height, y1)))
    crop.paste(inside, (max(0, -x0), max(0, -y0)))
    return crop.resize((size, size), Image.Resampling.BICUBIC) if size else crop


@dataclass(frozen=True)
class Crops:
    """Object crops as uint8 images with class indices into ``CLASSES`` and each object's
    pattern (the teacher's captions name it; the class does not)."""

    images: torch.Tensor  # (N, 3, S, S) uint8
    labels: torch.Tensor  # (N,) int64, index into CLASSES
    train: torch.Tensor  # (N,) bool: in the train part (else held-out)
    patterns: torch.Tensor  # (N,) int64, index into PATTERNS

    def select(self, mask: torch.Tensor) -> Crops:
        return Crops(self.images[mask], self.labels[mask], self.train[mask], self.patterns[mask])

    def of_classes(self, names: tuple[str, ...]) -> torch.Tensor:
        """(N,) bool: crops whose class is one of ``names``."""
        wanted = torch.tensor([CLASSES.index(n) for n in names])
        return torch.isin(self.labels, wanted)


def load_crops(world: Path, size: int, margin: float, train_fraction: float, seed: int) -> Crops:
    """Every object of every scene in ``world`` as a ``size``² crop, split per class.

    Objects whose class is not a colour × shape of the world's vocabulary are skipped.
    The train/held-out split shuffles each class's crops with a seeded RNG and puts the
    first ``round(train_fraction * n)`` (at least one when n >= 2) in train.
    """
    objects = [(image_id, o) for image_id, scene in sorted(load_scenes(world).items())
               for o in scene.objects if o.class_name in CLASSES]
    if not objects:
        raise ValueError(f"{world}: no objects of the shapes-world classes found")
    tensor = crops_at(world, [(image_id, o.box) for image_id, o in objects], size, margin)
    labels = [CLASSES.index(o.class_name) for _, o in objects]
    patterns = [PATTERNS.index(o.pattern) for _, o in objects]
    label_t = torch.tensor(labels, dtype=torch.int64)
    train = torch.zeros(len(labels), dtype=torch.bool)
    rng = random.Random(f"image-split:{seed}")
    for c in range(len(CLASSES)):
        idx = (label_t == c).nonzero().flatten().tolist()
        rng.shuffle(idx)
        k = max(1, round(train_fraction * len(idx))) if len(idx) >= 2 else len(idx)
        train[idx[:k]] = True
    return Crops(tensor, label_t, train, torch.tensor(patterns, dtype=torch.int64))


def crops_at(world: Path, boxes: Sequence[tuple[str, Box]], size: int, margin: float) -> torch.Tensor:
    """(N, 3, size, size) uint8: the crop of each (image id, box) of ``world``, made as
    training crops are (``object_crop``); each image is read once."""
    by_image: dict[str, list[int]] = {}
    for n, (image_id, _) in enumerate(boxes):
        by_image.setdefault(image_id, []).append(n)
    arrays: dict[int, np.ndarray] = {}
    for image_id, indices in by_image.items():
        with Image.open(image_path(world, image_id)) as im:
            picture = im.convert("RGB")
        for n in indices:
            arrays[n] = np.asarray(object_crop(picture, boxes[n][1], margin, size))
    out = [arrays[n] for n in range(len(boxes))]
    if not out:
        return torch.zeros(0, 3, size, size, dtype=torch.uint8)
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def normalize(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...],
              size: int | None = None) -> torch.Tensor:
    """uint8 (or float in [0, 1]) (B, 3, S, S) → float normalised, resized to ``size``."""
    x = images.float().div_(255.0) if images.dtype == torch.uint8 else images
    if size is not None and x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    return (x - m) / s


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random view of each image: scale 0.8–1.15, shift ±10 %, horizontal flip,
    brightness ±10 %.  Hue is left alone: colour is half of a class's name.

    images: (B, 3, S, S) uint8 or float in [0, 1]; returns float in [0, 1], same shape.
    """
    images = images.float().div(255.0) if images.dtype == torch.uint8 else images
    b = images.shape[0]
    scale = torch.empty(b).uniform_(0.8, 1.15, generator=generator)
    shift = torch.empty(b, 2).uniform_(-0.1, 0.1, generator=generator)
    flip = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = scale * flip
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    bright = torch.empty(b, 1, 1, 1).uniform_(0.9, 1.1, generator=generator)
    return (out * bright).clamp_(0.0, 1.0)
