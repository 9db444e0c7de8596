"""The closed loop's arithmetic: which crops re-distillation learns from, and how a new
student is measured against the one it replaces.

Targeted crops are the distinct objects that the tool calls the student got wrong in grow
were about (``tool_calls.parquet``, train images only: the held-out images stay unseen);
the control draws as many objects at random from the same train images, so both arms
spend the same compute (``visrep.vlm.redistill.Budget``) on as many crops.  A new student
is then measured on the held-out side: its tool-error rate on exactly the calls the
evaluation asked of the old one (``ExecutorActor.rejudge``), overall and on the
*failing primitives* (the tools with wrong answers among the targeted calls), and the
held-out accuracy of the same evaluation programs rerun with its tools.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from typing import Any

from visrep.world.records import Box, Scene


def wrong_objects(calls: Sequence[dict[str, Any]], limit: int, seed: int) -> list[tuple[str, Box]]:
    """The distinct (image id, box) objects that the wrong calls were about; at most
    ``limit``, a seeded sample when there are more."""
    seen: dict[tuple[str, Box], None] = {}
    for c in calls:
        if not c["agree"]:
            for *box, _class in json.loads(c["objects"]):
                seen[(c["image_id"], tuple(float(v) for v in box))] = None  # type: ignore[index]
    objects = list(seen)
    if len(objects) > limit:
        objects = random.Random(f"targeted:{seed}").sample(objects, limit)
    return objects


def random_objects(scenes: Iterable[Scene], n: int, seed: int) -> list[tuple[str, Box]]:
    """``n`` distinct objects drawn uniformly from ``scenes`` (all of them when fewer)."""
    every = [(s.image_id, o.box) for s in scenes for o in s.objects]
    return random.Random(f"random-crops:{seed}").sample(every, min(n, len(every)))


def failing_tools(calls: Sequence[dict[str, Any]]) -> list[str]:
    """The tools with at least one wrong answer among ``calls``, sorted."""
    return sorted({c["tool"] for c in calls if not c["agree"]})


def error_rates(calls: Sequence[dict[str, Any]], agree: Sequence[bool], failing: Sequence[str]) -> dict[str, float]:
    """Tool-error rates over distinct calls judged ``agree``: per tool, ``all``, and
    ``failing`` (the calls of the ``failing`` tools only); NaN where there is no call."""
    cells: dict[str, list[bool]] = {"all": [], "failing": []}
    for c, ok in zip(calls, agree):
        cells.setdefault(c["tool"], []).append(ok)
        cells["all"].append(ok)
        if c["tool"] in failing:
            cells["failing"].append(ok)
    return {k: (sum(not ok for ok in v) / len(v) if v else float("nan")) for k, v in cells.items()}
