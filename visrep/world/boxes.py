"""One-to-one matching of two box lists, the rule behind the detect reward and the referee.

Greedy highest-IoU-first pairing (``torchvision.ops.box_iou``) is exact on this world's
boxes, whose objects never overlap; both the reward (predicted vs ground truth) and the
referee (a student tool's boxes vs the oracle's) pair boxes this way, so "the tool found the
right objects" and "the program earned its reward" mean the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence

IOU_THRESHOLD = 0.5


def matched_ious(predicted: Sequence[Sequence[float]], truth: Sequence[Sequence[float]]) -> list[float]:
    """The IoU of each pair of the greedy one-to-one matching (min(len) pairs, best first)."""
    import torch
    from torchvision.ops import box_iou

    if not predicted or not truth:
        return []
    iou = box_iou(torch.tensor(predicted, dtype=torch.float32), torch.tensor(truth, dtype=torch.float32))
    matched: list[float] = []
    for _ in range(min(iou.shape)):
        best = int(torch.argmax(iou))
        p, g = divmod(best, iou.shape[1])
        matched.append(float(iou[p, g]))
        iou[p, :] = -1.0
        iou[:, g] = -1.0
    return matched


def same_boxes(predicted: Sequence[Sequence[float]], truth: Sequence[Sequence[float]],
               threshold: float = IOU_THRESHOLD) -> bool:
    """As many boxes as the truth, each matched one-to-one at IoU >= ``threshold``."""
    return len(predicted) == len(truth) and all(v >= threshold for v in matched_ious(predicted, truth))
