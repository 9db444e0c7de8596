"""Detection / grounding reward: every ground-truth box matched at IoU ≥ 0.5 (RefCOCO rule)."""

from __future__ import annotations

from typing import Any

from visrep.rewards.records import Reward
from visrep.world.boxes import IOU_THRESHOLD, matched_ious


def detect_reward(predicted: Any, gt_boxes: list[list[float]], threshold: float = IOU_THRESHOLD) -> Reward:
    """1.0 when predictions and ground truth match one-to-one at IoU ≥ ``threshold``.

    A referring phrase has one box, a phrase like "all green triangles" several; a
    program must return exactly as many boxes as there are objects, and the greedy
    highest-IoU-first matching (``visrep.world.boxes``) must pair each with a ground-truth box.
    """
    if not isinstance(predicted, list) or not all(
        isinstance(b, (list, tuple)) and len(b) == 4 for b in predicted
    ):
        return Reward(0.0, "prediction is not a list of boxes")
    if len(predicted) != len(gt_boxes):
        return Reward(0.0, f"{len(predicted)} boxes for {len(gt_boxes)} objects")
    if not gt_boxes:
        return Reward(1.0, "no objects, no boxes")
    matched = matched_ious(predicted, gt_boxes)
    worst = min(matched)
    ok = worst >= threshold
    return Reward(1.0 if ok else 0.0, f"min IoU {worst:.2f} over {len(matched)} boxes")
