"""The reward record every scorer returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reward:
    """``value`` in [0, 1]; ``detail`` says why, in one line (e.g. the IoU reached)."""

    value: float
    detail: str = ""
