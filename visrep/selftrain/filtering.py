"""The improve step's data: keep programs that earned reward ≥ τ, deduplicated.

Deduplication compares programs by their AST (so formatting and comments do not make
a "new" program); a task's quota (``max_per_task``) keeps easy tasks with many correct
samples from drowning out hard ones, which is what filtered behaviour cloning needs.
"""

from __future__ import annotations

import ast
from typing import Any

from visrep.programs.validate import ProgramRejected, parse_program
from visrep.selftrain import trajectories as T


def program_key(source: str) -> str:
    """A formatting-insensitive identity for a program (its AST dump, else -- it does not
    parse, or nests too deeply to walk safely -- its stripped text)."""
    try:
        return ast.dump(parse_program(source))
    except ProgramRejected:
        return "\n".join(line.rstrip() for line in source.strip().splitlines())


def select_for_training(rows: list[dict[str, Any]], threshold: float, dedupe: bool,
                        max_per_task: int) -> list[dict[str, Any]]:
    """Rows kept for fine-tuning, in input order: reward ≥ threshold, unique per task, capped."""
    kept: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    per_task: dict[str, int] = {}
    for row in rows:
        if row[T.STATUS] != "ok" or row[T.REWARD] < threshold:
            continue
        key = (row[T.TASK_ID], program_key(row[T.SOURCE]))
        if dedupe and key in seen:
            continue
        if max_per_task and per_task.get(row[T.TASK_ID], 0) >= max_per_task:
            continue
        seen.add(key)
        per_task[row[T.TASK_ID]] = per_task.get(row[T.TASK_ID], 0) + 1
        kept.append(row)
    return kept
