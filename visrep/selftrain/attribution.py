"""Attribution: whether a failed program failed by its own logic or by its tools' answers.

With pixel tools (the student) a program can be right and still earn nothing, because a
tool told it something false.  The executor's referee judges every tool call against the
oracle (``visrep.visual.referee``) and every program that earned less than the threshold
is run again with the oracle's tools (``actors.executor.ExecutorActor.rerun_with_oracle``).
A failure is then

- ``tool``: the same program earns its reward with the oracle's tools;
- ``program``: it fails with the oracle's tools too and every tool answer it got was right
  (or the validator rejected it, which no tool can change);
- ``both``: it fails with the oracle's tools too, and some tool answer it got was wrong.

The distinct judged calls of a phase go to ``tool_calls.parquet`` (one row per call, with
how many runs made it), the raw material of tool-error rates per primitive and ID/OOD and
of targeted re-distillation.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from visrep.selftrain import trajectories as T

TOOL, PROGRAM, BOTH = "tool", "program", "both"
FAILURES = (TOOL, PROGRAM, BOTH)


@dataclass(frozen=True)
class Attribution:
    """How a job attributes failures: a program below ``threshold`` (the reward the filter
    keeps, ``selftrain.reward_threshold``) has failed and is rerun with the oracle's tools."""

    threshold: float


def failure_class(reward: float, oracle_reward: float | None, tool_errors: int, threshold: float) -> str:
    """``""`` for a program that earned its reward, else its failure class (module docstring);
    ``oracle_reward`` is None for a program that was not rerun (the validator rejected it)."""
    if reward >= threshold:
        return ""
    if oracle_reward is not None and oracle_reward >= threshold:
        return TOOL
    return BOTH if tool_errors else PROGRAM


def tool_errors(calls: Sequence[dict[str, Any]]) -> int:
    """How many of a run's judged tool calls the referee found wrong."""
    return sum(not c["agree"] for c in calls)


# ---- tool_calls.parquet ----------------------------------------------------------------

CALL_SCHEMA = pa.schema([
    (T.ITERATION, pa.int32()),
    (T.PHASE, pa.string()),
    ("tool", pa.string()),
    ("image_id", pa.string()),
    ("box", pa.string()),  # JSON [x0, y0, x1, y1] of the patch asked about
    ("args", pa.string()),  # JSON list of the call's arguments after (image, box)
    ("answer", pa.string()),  # JSON: the backend's (student's) answer
    ("oracle", pa.string()),  # JSON: the oracle's answer to the same call
    ("agree", pa.bool_()),
    ("objects", pa.string()),  # JSON [[x0, y0, x1, y1, class name], ...]: what the call was about
    ("split", pa.string()),  # id | ood | none: the objects' side of the distillation class split
    ("calls", pa.int32()),  # how many program runs of the phase made this call
])


def call_rows(iteration: int, phase: str, calls: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The distinct calls among a phase's judged ``calls`` (first-seen order), counted."""
    rows: dict[str, dict[str, Any]] = {}
    for c in calls:
        key = json.dumps([c["tool"], c["image_id"], c["box"], c["args"]])
        if key in rows:
            rows[key]["calls"] += 1
            continue
        rows[key] = {T.ITERATION: iteration, T.PHASE: phase, "tool": c["tool"], "image_id": c["image_id"],
                     "box": json.dumps(c["box"]), "args": json.dumps(c["args"]),
                     "answer": json.dumps(c["answer"]), "oracle": json.dumps(c["oracle"]),
                     "agree": bool(c["agree"]), "objects": json.dumps(c["objects"]), "split": c["split"],
                     "calls": 1}
    return list(rows.values())


def write_calls(rows: list[dict[str, Any]], path: Path) -> None:
    """Write call rows as zstd Parquet atomically (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(pa.Table.from_pylist(rows, schema=CALL_SCHEMA), tmp, compression="zstd")
    os.replace(tmp, path)


def read_calls(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path, schema=CALL_SCHEMA).to_pylist()


# ---- metrics ---------------------------------------------------------------------------

def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def attribution_metrics(rows: list[dict[str, Any]], calls: list[dict[str, Any]], prefix: str,
                        rerun_all: bool) -> dict[str, float]:
    """What MLflow plots of a phase's attribution.

    ``{prefix}/failure/{class}/{kind}``: the fraction of the kind's programs that failed
    that way (so tool + program + both + solved = 1); ``{prefix}/tool_error/{tool}[/{split}]``
    and ``.../all``: the fraction of distinct judged calls the tool answered wrongly (split:
    id/ood/none); with ``rerun_all`` also ``{prefix}/oracle_reward/{kind}[/{split}]``: the
    same programs' mean reward with the oracle's tools.
    """
    out: dict[str, float] = {}
    by_kind: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_kind[row[T.KIND]].append(row[T.FAILURE] or "")
    for kind, classes in sorted(by_kind.items()):
        for cls in FAILURES:
            out[f"{prefix}/failure/{cls}/{kind}"] = classes.count(cls) / len(classes)
    errors: dict[str, list[float]] = defaultdict(list)
    for c in calls:
        wrong = 0.0 if c["agree"] else 1.0
        for key in (c["tool"], f"{c['tool']}/{c['split']}", "all"):
            errors[key].append(wrong)
    out.update({f"{prefix}/tool_error/{key}": _mean(v) for key, v in sorted(errors.items())})
    if rerun_all:
        oracle: dict[str, list[float]] = defaultdict(list)
        for row in rows:
            value = row[T.ORACLE_REWARD] or 0.0
            oracle[row[T.KIND]].append(value)
            oracle[f"{row[T.KIND]}/{row[T.SPLIT]}"].append(value)
        out.update({f"{prefix}/oracle_reward/{key}": _mean(v) for key, v in sorted(oracle.items())})
    return out
