"""Fitting the student backend's calibration on a world's train scenes, and preparing a
student dir for the tools.

``calibrate`` builds a ``StudentBackend`` with provisional parameters and reads, through
its public ``image_features``/``embed_texts``, what it would score; it then picks the
temperature and thresholds that maximise ``find``'s F1 against the scene annotations.
``prepare_student_dir`` makes what the backend loads beside a distilled student: the
proposal detector and the calibration (``visrep.vlm.student.StudentDir``).
"""

from __future__ import annotations

import random
from pathlib import Path

import torch
from torch import Tensor

from visrep.visual.student import (
    Calibration,
    CropEncoder,
    Proposer,
    StudentBackend,
    consistent,
    save_calibration,
)
from visrep.vlm.proposals import load_proposals, train_image_ids, train_proposals
from visrep.vlm.student import StudentDir, load_student
from visrep.world import load_scenes
from visrep.world.loaders import images_dir
from visrep.world.predicates import ATTRIBUTES, Attrs, matches
from visrep.world.records import COLORS, PATTERNS, SHAPES, SIZES, Scene, SceneObject

_TEMPERATURES = (0.01, 0.02, 0.05, 0.1)


def _calibration_phrases(scene: Scene, rng: random.Random, n: int) -> list[Attrs]:
    """``n`` phrases of one or two attributes, half copied from the scene's objects."""
    values = {"size": SIZES, "pattern": PATTERNS, "color": COLORS, "shape": SHAPES}
    out = []
    for _ in range(n):
        keys = rng.sample(ATTRIBUTES, rng.choice((1, 2)))
        obj = rng.choice(scene.objects)
        real = rng.random() < 0.5
        out.append({k: ((getattr(obj, k) if real else rng.choice(values[k])) if k in keys else None)
                    for k in ATTRIBUTES})
    return out


def _best_f1(scores: Tensor, labels: Tensor) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of ``scores > threshold`` against ``labels``."""
    order = torch.argsort(scores, descending=True)
    s, y = scores[order], labels[order].float()
    tp = torch.cumsum(y, 0)
    f1 = 2 * tp / (torch.arange(1, len(y) + 1) + y.sum())
    k = int(f1.argmax())
    below = float(s[k + 1]) if k + 1 < len(s) else float(s[k]) - 1e-3
    return (float(s[k]) + below) / 2, float(f1[k])


def _large_side(scenes: list[Scene]) -> float:
    """The cut between small and large boxes: midway between the two classes' mean sides."""
    sides = {size: [max(o.box[2] - o.box[0], o.box[3] - o.box[1]) / max(s.width, s.height)
                    for s in scenes for o in s.objects if o.size == size] for size in SIZES}
    if not all(sides.values()):
        return Calibration.large_side
    return (sum(sides["small"]) / len(sides["small"]) + sum(sides["large"]) / len(sides["large"])) / 2


def calibrate(encoder: CropEncoder, proposer: Proposer, world_dir: Path, *, images: int = 40,
              phrases_per_image: int = 8, seed: int = 0, crop_margin: float = 0.1) -> Calibration:
    """Fit the temperature and the threshold on the world's train scenes (F1 of ``find``).

    Each proposal is labelled with the ground-truth object it overlaps (IoU ≥ 0.5, or
    none); a sampled phrase should find it exactly when that object matches the phrase.
    """
    from torchvision.ops import box_iou

    world_dir = Path(world_dir)
    scenes = load_scenes(world_dir)
    ids = [i for i in train_image_ids(world_dir) if scenes[i].objects][:images]
    chosen = [scenes[i] for i in ids]
    base = Calibration(large_side=_large_side(chosen), crop_margin=crop_margin)
    backend = StudentBackend(images_dir(world_dir), encoder, proposer, base)
    rng = random.Random(f"calibrate:{seed}")
    sims, labels, size_ok = [], [], []
    for scene in chosen:
        entry = backend.image_features(scene.image_id)
        if len(entry.boxes) == 0:
            continue
        gt = torch.tensor([o.box for o in scene.objects], dtype=torch.float32)
        iou = box_iou(entry.boxes, gt)  # (N, M)
        owner: list[SceneObject | None] = [scene.objects[int(r.argmax())] if float(r.max()) >= 0.5 else None
                                           for r in iou]
        for attrs in _calibration_phrases(scene, rng, phrases_per_image):
            sims.append((entry.sims, consistent(attrs)))
            labels.append(torch.tensor([o is not None and matches(o, attrs) for o in owner]))
            size_ok.append(torch.ones(len(owner)) if attrs["size"] is None
                           else (entry.large == (attrs["size"] == "large")).float())
    if not labels:
        raise ValueError(f"{world_dir}: no proposals on the train scenes to calibrate with")
    y = torch.cat(labels)
    best = (-1.0, base.temperature, base.find_threshold)
    for t in _TEMPERATURES:
        scores = torch.cat([(torch.softmax(s / t, 1) * c).sum(1) * ok for (s, c), ok in zip(sims, size_ok)])
        threshold, f1 = _best_f1(scores, y)
        if f1 > best[0]:
            best = (f1, t, threshold)
    return Calibration(temperature=best[1], find_threshold=best[2], large_side=base.large_side,
                       crop_margin=crop_margin, f1=best[0])


def _crop_margin(encoder: CropEncoder) -> float:
    """The margin the student was trained with (``student.json``), so crops match training."""
    meta = getattr(encoder, "meta", None)
    default = Calibration.crop_margin
    return float(meta.get("crop_margin", default)) if isinstance(meta, dict) else default


def prepare_student_dir(student_dir: Path, world_dir: Path, *, proposal_steps: int = 600,
                        encoder: CropEncoder | None = None) -> Calibration:
    """Make what the backend needs beside a student: train the proposal detector on the
    world's train images if ``proposals.pt`` is missing, and (re)calibrate ``backend.json``."""
    files = StudentDir(Path(student_dir))
    if not files.proposals.is_file():
        train_proposals(world_dir, files.proposals, steps=proposal_steps)
    encoder = encoder if encoder is not None else load_student(files.root)
    calibration = calibrate(encoder, load_proposals(files.proposals), world_dir,
                            crop_margin=_crop_margin(encoder))
    save_calibration(calibration, files.calibration)
    return calibration
