"""Per-iteration metrics from trajectory rows (what MLflow plots)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from visrep.programs.records import EXEC_STATUSES
from visrep.selftrain import trajectories as T


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def phase_metrics(rows: list[dict[str, Any]], prefix: str) -> dict[str, float]:
    """Mean reward and solve rate per task kind, and program status counts.

    ``{prefix}/reward/{kind}``: mean reward over all programs (in evaluation, with one
    greedy program per task, this is the accuracy); ``{prefix}/solved/{kind}``: the
    fraction of tasks with at least one program at full reward;
    ``{prefix}/status/{status}``: how many programs ended that way.
    """
    by_kind: dict[str, list[float]] = defaultdict(list)
    solved: dict[str, dict[str, bool]] = defaultdict(dict)
    for row in rows:
        by_kind[row[T.KIND]].append(row[T.REWARD])
        prev = solved[row[T.KIND]].get(row[T.TASK_ID], False)
        solved[row[T.KIND]][row[T.TASK_ID]] = prev or row[T.REWARD] >= 1.0
    out: dict[str, float] = {}
    for kind, rewards in sorted(by_kind.items()):
        out[f"{prefix}/reward/{kind}"] = _mean(rewards)
        out[f"{prefix}/solved/{kind}"] = _mean([float(v) for v in solved[kind].values()])
    out[f"{prefix}/reward/all"] = _mean([r[T.REWARD] for r in rows])
    counts = Counter(row[T.STATUS] for row in rows)
    for status in EXEC_STATUSES:
        out[f"{prefix}/status/{status}"] = float(counts.get(status, 0))
    return out
