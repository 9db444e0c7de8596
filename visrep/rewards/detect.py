"""Detection / grounding reward: every ground-truth box matched at IoU ≥ 0.5 (RefCOCO rule)."""

from __future__ import annotations

from typing import Any

from visrep.rewards.records import Reward

IOU_THRESHOLD = 0.5


def detect_reward(predicted: Any, gt_boxes: list[list[float]], threshold: float = IOU_THRESHOLD) -> Reward:
    """1.0 when predictions and ground truth match one-to-one at IoU ≥ ``threshold``.

    A referring phrase has one box, a phrase like "all green triangles" several; a
    program must return exactly as many boxes as there are objects, and a greedy
    highest-IoU-first matching must pair each with a ground-truth box.  Greedy is exact
    here because the world's objects never overlap.
    """
    import torch
    from torchvision.ops import box_iou

    if not isinstance(predicted, list) or not all(
        isinstance(b, (list, tuple)) and len(b) == 4 for b in predicted
    ):
        return Reward(0.0, "prediction is not a list of boxes")
    if len(predicted) != len(gt_boxes):
        return Reward(0.0, f"{len(predicted)} boxes for {len(gt_boxes)} objects")
    if not gt_boxes:
        return Reward(1.0, "no objects, no boxes")
    iou = box_iou(torch.tensor(predicted, dtype=torch.float32), torch.tensor(gt_boxes, dtype=torch.float32))
    # iou: (P, G)
    matched: list[float] = []
    for _ in range(len(gt_boxes)):
        best = int(torch.argmax(iou))
        p, g = divmod(best, iou.shape[1])
        matched.append(float(iou[p, g]))
        iou[p, :] = -1.0
        iou[:, g] = -1.0
    worst = min(matched)
    ok = worst >= threshold
    return Reward(1.0 if ok else 0.0, f"min IoU {worst:.2f} over {len(matched)} boxes")
