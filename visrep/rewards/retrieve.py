"""Retrieval reward: the highest-scoring candidate is the right one."""

from __future__ import annotations

import math
from typing import Any

from visrep.rewards.records import Reward


def retrieve_reward(scores: Any, index: int) -> Reward:
    """1.0 when ``argmax(scores) == index`` and the maximum is unique.

    A tie counts as wrong: a program that scores every candidate the same has not
    retrieved anything, and rewarding the first of a tie would reward a constant.
    """
    if not isinstance(scores, list) or not scores:
        return Reward(0.0, "no candidate scores")
    try:
        values = [float(s) for s in scores]
    except (TypeError, ValueError):
        return Reward(0.0, "scores are not numbers")
    if any(math.isnan(v) for v in values):
        return Reward(0.0, "a score is NaN")
    best = max(values)
    winners = [i for i, v in enumerate(values) if v == best]
    if len(winners) > 1:
        return Reward(0.0, f"tie between candidates {winners}")
    ok = winners[0] == index
    return Reward(1.0 if ok else 0.0, f"picked {winners[0]}, expected {index}")
