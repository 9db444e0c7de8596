"""Evaluation helpers on hand-checkable tensors."""

import torch

from visrep.vlm.data import CLASSES
from visrep.vlm.evaluate import additive_r2, mean_per_class_accuracy


def test_additive_r2_is_one_for_colour_plus_shape_and_low_for_noise() -> None:
    torch.manual_seed(0)
    color_vecs = {c: torch.randn(16) for c in {n.split()[0] for n in CLASSES}}
    shape_vecs = {s: torch.randn(16) for s in {n.split()[1] for n in CLASSES}}
    additive = torch.stack([color_vecs[n.split()[0]] + shape_vecs[n.split()[1]] for n in CLASSES])  # (64, 16)
    assert abs(additive_r2(additive, CLASSES) - 1.0) < 1e-5
    # 64 independent vectors: 15 free directions of the fit explain about 15/63 of them.
    assert additive_r2(torch.randn(len(CLASSES), 256), CLASSES) < 0.4


def test_mean_per_class_accuracy_weighs_classes_not_images() -> None:
    y = torch.tensor([0, 0, 0, 1])
    pred = torch.tensor([0, 0, 0, 0])  # class 0 all right, class 1 all wrong
    assert mean_per_class_accuracy(pred, y) == 0.5
