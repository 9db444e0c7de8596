"""Evaluation helpers on hand-checkable tensors."""

import torch

from visrep.vlm.evaluate import mean_per_class_accuracy


def test_mean_per_class_accuracy_weighs_classes_not_images() -> None:
    y = torch.tensor([0, 0, 0, 1])
    pred = torch.tensor([0, 0, 0, 0])  # class 0 all right, class 1 all wrong
    assert mean_per_class_accuracy(pred, y) == 0.5
