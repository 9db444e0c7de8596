"""Per-iteration metrics from trajectory rows (what MLflow plots)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from visrep.programs.records import EXEC_STATUSES
from visrep.selftrain import trajectories as T


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _solved_by_kind(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Per task kind (sorted), the fraction of tasks with at least one program at full reward."""
    solved: dict[str, dict[str, bool]] = defaultdict(dict)
    for row in rows:
        prev = solved[row[T.KIND]].get(row[T.TASK_ID], False)
        solved[row[T.KIND]][row[T.TASK_ID]] = prev or row[T.REWARD] >= 1.0
    return {kind: _mean([float(v) for v in solved[kind].values()]) for kind in sorted(solved)}


def solve_rate(rows: list[dict[str, Any]]) -> float:
    """The mean over task kinds of each kind's solved fraction (so no kind outweighs another);
    0 for no rows.  The few-shot probe compares it with ``warm_start.min_solve_rate``."""
    return _mean(list(_solved_by_kind(rows).values()))


def phase_metrics(rows: list[dict[str, Any]], prefix: str) -> dict[str, float]:
    """Mean reward and solve rate per task kind, and program status counts.

    ``{prefix}/reward/{kind}``: mean reward over all programs (in evaluation, with one
    greedy program per task, this is the accuracy); ``{prefix}/solved/{kind}``: the
    fraction of tasks with at least one program at full reward;
    ``{prefix}/status/{status}``: how many programs ended that way.
    """
    by_kind: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        by_kind[row[T.KIND]].append(row[T.REWARD])
    solved = _solved_by_kind(rows)
    out: dict[str, float] = {}
    for kind, rewards in sorted(by_kind.items()):
        out[f"{prefix}/reward/{kind}"] = _mean(rewards)
        out[f"{prefix}/solved/{kind}"] = solved[kind]
    out[f"{prefix}/reward/all"] = _mean([r[T.REWARD] for r in rows])
    counts = Counter(row[T.STATUS] for row in rows)
    for status in EXEC_STATUSES:
        out[f"{prefix}/status/{status}"] = float(counts.get(status, 0))
    return out


def heldout_table(evals: dict[int, dict[str, float]], kinds: Sequence[str]) -> str:
    """Held-out accuracy per iteration (rows) and task kind (columns) from eval metrics."""
    lines = ["held-out accuracy per iteration: " + " ".join(f"{k:>9}" for k in kinds)]
    lines += [f"  iteration {i:2d}".ljust(33) + " ".join(
        f"{info.get(f'eval/reward/{k}', float('nan')):9.3f}" for k in kinds) for i, info in evals.items()]
    return "\n".join(lines)
