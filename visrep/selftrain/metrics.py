"""Metrics from trajectory rows: per iteration (what MLflow plots) and per kind x split
(what ``rayapps.evaluate`` reports)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from visrep.programs.records import EXEC_STATUSES
from visrep.selftrain import trajectories as T
from visrep.world.records import TASK_KINDS


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
    greedy program per task, this is the accuracy), and ``{prefix}/reward/{kind}/{split}``
    the same per split (the held-out splits are each reported on their own);
    ``{prefix}/solved/{kind}``: the fraction of tasks with at least one program at full
    reward; ``{prefix}/status/{status}``: how many programs ended that way.
    """
    by_kind: dict[str, list[float]] = defaultdict(list)
    by_split: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        by_kind[row[T.KIND]].append(row[T.REWARD])
        by_split[f"{row[T.KIND]}/{row[T.SPLIT]}"].append(row[T.REWARD])
    solved = _solved_by_kind(rows)
    out: dict[str, float] = {}
    for kind, rewards in sorted(by_kind.items()):
        out[f"{prefix}/reward/{kind}"] = _mean(rewards)
        out[f"{prefix}/solved/{kind}"] = solved[kind]
    for cell, rewards in sorted(by_split.items()):
        out[f"{prefix}/reward/{cell}"] = _mean(rewards)
    out[f"{prefix}/reward/all"] = _mean([r[T.REWARD] for r in rows])
    counts = Counter(row[T.STATUS] for row in rows)
    for status in EXEC_STATUSES:
        out[f"{prefix}/status/{status}"] = float(counts.get(status, 0))
    return out


def heldout_table(evals: dict[int, dict[str, float]], kinds: Sequence[str], splits: Sequence[str],
                  baselines: dict[str, dict[str, float]] | None = None, warm_started: bool = False) -> str:
    """Held-out accuracy (rows) per task kind and split (columns, then the kind over all its
    splits): the baselines first (``{name}/reward/{kind}[/{split}]`` metrics), so every
    iteration's ``eval/reward/...`` stands beside what needs no training at all; iteration
    0 is the warm start when ``warm_started``.  With pixel tools each row is followed by the
    same programs rerun with the oracle's tools (``.../oracle_reward/...``, attribution)."""
    columns = [(k, s) for k in kinds for s in (*splits, ALL_SPLITS)]

    def rows(label: str, info: dict[str, float], prefix: str) -> list[str]:
        out = []
        for metric, name in (("reward", label), ("oracle_reward", "  same programs, oracle tools")):
            keys = [f"{prefix}/{metric}/{k}" + ("" if s == ALL_SPLITS else f"/{s}") for k, s in columns]
            if metric == "reward" or any(key in info for key in keys):
                out.append(f"  {name}".ljust(32) + "".join(f"{info.get(key, float('nan')):>11.3f}" for key in keys))
        return out

    lines = ["held-out accuracy".ljust(32) + "".join(f"{k:>11}" for k, _ in columns),
             "".ljust(32) + "".join(f"{s:>11}" for _, s in columns)]
    for name, info in (baselines or {}).items():
        lines += rows(f"baseline {name}", info, name)
    for i, info in evals.items():
        lines += rows(f"iteration {i:2d}" + (" (warm start)" if i == 0 and warm_started else ""), info, "eval")
    return "\n".join(lines)


# The column of ``accuracy_table`` over every split of a kind.
ALL_SPLITS = "all"

# task kind -> split (each present, then ALL_SPLITS) -> (mean reward, number of programs)
AccuracyTable = dict[str, dict[str, tuple[float, int]]]


def accuracy_table(rows: list[dict[str, Any]]) -> AccuracyTable:
    """Mean reward per task kind and split, and over all splits, with the program counts.

    With one greedy program per task (evaluation) the mean is the accuracy.  Kinds follow
    TASK_KINDS; splits follow their first row, whatever their names (a split named like
    ``ALL_SPLITS`` is refused rather than merged into the total).
    """
    cells: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row[T.SPLIT] == ALL_SPLITS:
            raise ValueError(f"task {row[T.TASK_ID]}: split {ALL_SPLITS!r} is reserved for the total")
        cells[row[T.KIND]][row[T.SPLIT]].append(row[T.REWARD])
    kinds = [k for k in TASK_KINDS if k in cells] + sorted(k for k in cells if k not in TASK_KINDS)
    table: AccuracyTable = {}
    for kind in kinds:
        table[kind] = {split: (_mean(rewards), len(rewards)) for split, rewards in cells[kind].items()}
        every = [r for rewards in cells[kind].values() for r in rewards]
        table[kind][ALL_SPLITS] = (_mean(every), len(every))
    return table


def table_splits(table: AccuracyTable) -> list[str]:
    """The table's columns: every split in the order first met, then ``ALL_SPLITS``."""
    splits = dict.fromkeys(s for per_split in table.values() for s in per_split if s != ALL_SPLITS)
    return [*splits, ALL_SPLITS]


def accuracy_markdown(table: AccuracyTable) -> str:
    """The table as markdown: a row per kind, a column per split; "mean (n=N)" cells, "-"
    where a kind has no task of that split."""
    splits = table_splits(table)
    lines = ["| kind | " + " | ".join(splits) + " |", "|---" * (len(splits) + 1) + "|"]
    for kind, per_split in table.items():
        cells = [f"{per_split[s][0]:.3f} (n={per_split[s][1]})" if s in per_split else "-" for s in splits]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def accuracy_json(table: AccuracyTable) -> dict[str, dict[str, dict[str, float | int]]]:
    """The table as plain JSON data: ``{kind: {split: {"mean": m, "n": n}}}``."""
    return {kind: {split: {"mean": mean, "n": n} for split, (mean, n) in per_split.items()}
            for kind, per_split in table.items()}
