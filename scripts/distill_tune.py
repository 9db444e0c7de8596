"""Tune the student's loss weights without looking at the OOD classes.

    python scripts/distill_tune.py [--config default] [--val 12] [--splits 0 1] [--seeds 0 1]
                                   [--only NAME ...] [a.b=value ...]

The run's teacher is loaded from (or trained into) ``<run.dir>/teacher`` exactly as
``rayapps.distill`` does (``visrep.vlm.distill.Distill.setup``).  Students are then trained
on a *validation split inside the ID classes*: ``--val`` ID classes are set aside as
pseudo-OOD, once per ``--splits`` seed (chosen so that each of their colours and shapes
still occurs among the remaining ID classes), ``--seeds`` students per split train on the
train crops of the other ID classes only, and are scored zero-shot on every crop of the
pseudo-OOD classes (classified among those classes) and on the held-out crops of the
fitted classes.  The real OOD classes enter neither training nor the choice.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import visrep  # noqa: F401,E402
from visrep.vlm.config import load_distill_config  # noqa: E402
from visrep.vlm.data import CLASSES  # noqa: E402
from visrep.vlm.distill import Distill  # noqa: E402
from visrep.vlm.evaluate import mean_per_class_accuracy  # noqa: E402
from visrep.vlm.features import encode_crops  # noqa: E402
from visrep.vlm.losses import class_logits  # noqa: E402
from visrep.vlm.models import copy_text_side, create_model  # noqa: E402
from visrep.vlm.train import distill_student  # noqa: E402

ALL = ("cls", "mse", "contrastive", "vl_align")
# name -> (terms, enrichment, loss-section overrides)
GRID: dict[str, tuple[tuple[str, ...], bool, dict]] = {
    "cls": (("cls",), False, {}),
    "cls+enr": (("cls",), True, {}),
    "mse10": (("cls", "mse"), False, {"mse": 10.0}),
    "mse3": (("cls", "mse"), False, {"mse": 3.0}),
    "mse1": (("cls", "mse"), False, {"mse": 1.0}),
    "con1": (("cls", "contrastive"), False, {"contrastive": 1.0}),
    "con0.3": (("cls", "contrastive"), False, {"contrastive": 0.3}),
    "vla1": (("cls", "vl_align"), False, {"vl_align": 1.0}),
    "vla3": (("cls", "vl_align"), False, {"vl_align": 3.0}),
    "all-default": (ALL, True, {}),
    "all-mse3": (ALL, True, {"mse": 3.0}),
    "all-mse1": (ALL, True, {"mse": 1.0}),
    "all-mse1-con0.3": (ALL, True, {"mse": 1.0, "contrastive": 0.3}),
    "all-mse3-con0.3-vla3": (ALL, True, {"mse": 3.0, "contrastive": 0.3, "vl_align": 3.0}),
    "con3": (("cls", "contrastive"), False, {"contrastive": 3.0}),
    "all-mse3-con3": (ALL, True, {"mse": 3.0, "contrastive": 3.0}),
    "all-mse0.3": (ALL, True, {"mse": 0.3}),
    "all-mse1-con3": (ALL, True, {"mse": 1.0, "contrastive": 3.0}),
}


def val_split(id_classes: tuple[str, ...], n: int, seed: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(fit classes, pseudo-OOD classes): every pseudo-OOD colour and shape stays in fit."""
    rng = random.Random(f"val-split:{seed}")
    for _ in range(1000):
        val = set(rng.sample(id_classes, n))
        fit = [c for c in id_classes if c not in val]
        colors, shapes = {c.split()[0] for c in fit}, {c.split()[1] for c in fit}
        if all(v.split()[0] in colors and v.split()[1] in shapes for v in val):
            return tuple(fit), tuple(sorted(val))
    raise ValueError("no covering validation split")


def zero_shot(feats: torch.Tensor, labels: torch.Tensor, classes: tuple[str, ...], w_all: torch.Tensor) -> float:
    index = torch.tensor([CLASSES.index(c) for c in classes])
    local = torch.full((len(CLASSES),), -1, dtype=torch.int64)
    local[index] = torch.arange(len(index))
    return mean_per_class_accuracy(class_logits(feats, w_all[index], 1.0).argmax(-1), local[labels])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="default")
    ap.add_argument("--val", type=int, default=12, help="ID classes held out as pseudo-OOD per split")
    ap.add_argument("--splits", type=int, nargs="+", default=[0, 1], help="seeds of the pseudo-OOD splits")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="student seeds per split")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    cfg = load_distill_config(args.config, args.overrides)
    job = Distill(cfg, progress=False)
    s = job.setup()
    crops, split, teacher, t_feats, class_w = s.crops, s.split, s.teacher, s.features, s.class_weights
    held = ~crops.train
    print(f"teacher: {job.timings.get('teacher_train_s', float('nan')):.0f} s")
    for e in (False, True):
        print(f"teacher {'enriched' if e else 'plain':8s}  all 64 held-out among 64: "
              f"{zero_shot(t_feats[held], crops.labels[held], CLASSES, class_w[e]):.3f}")
    for name, (terms, enrich, over) in GRID.items():
        if args.only and name not in args.only:
            continue
        losses = dataclasses.replace(cfg.losses, **over)
        weights = {k: getattr(losses, k) for k in terms}
        fits, vals, secs = [], [], 0.0
        for split_seed in args.splits:
            fit, val = val_split(split.id_classes, args.val, split_seed)
            val_mask = crops.of_classes(val)  # every crop of the pseudo-OOD classes
            fit_test = held & crops.of_classes(fit)
            train_mask = crops.train & crops.of_classes(fit)
            fit_ids = torch.tensor([CLASSES.index(c) for c in fit])
            local = torch.full((len(CLASSES),), -1, dtype=torch.int64)
            local[fit_ids] = torch.arange(len(fit_ids))
            for seed in args.seeds:
                torch.manual_seed(seed)
                student = create_model(cfg.student.open_clip_name)
                copy_text_side(teacher, student)
                start = time.perf_counter()
                distill_student(student, crops.images[train_mask], local[crops.labels[train_mask]],
                                t_feats[train_mask], class_w[enrich][fit_ids], weights, cfg.student,
                                losses.temperature, losses.top_k, seed, progress=False)
                secs += time.perf_counter() - start
                s_feats = encode_crops(student, crops.images)
                fits.append(zero_shot(s_feats[fit_test], crops.labels[fit_test], fit, class_w[enrich]))
                vals.append(zero_shot(s_feats[val_mask], crops.labels[val_mask], val, class_w[enrich]))
        print(f"{name:24s} fitID-held {sum(fits) / len(fits):.3f}  pseudoOOD {sum(vals) / len(vals):.3f}  "
              f"(per split x seed {[f'{v:.3f}' for v in vals]}, {secs:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
