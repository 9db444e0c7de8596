"""Trajectory rows: the one place where column names that cross a boundary are defined.

Every program the loop runs — sampled in grow, greedy in evaluation — becomes one row
with its task, source, execution result and reward.  Rows are written as Parquet through
pyarrow (atomic: temp file then rename, so a crash never leaves a half file).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from visrep.programs.records import ExecResult, Program
from visrep.rewards.records import Reward
from visrep.world.records import Task

ITERATION = "iteration"
PHASE = "phase"
TASK_ID = "task_id"
KIND = "kind"
SPLIT = "split"
TEMPLATE = "template"
SAMPLE = "sample"
SOURCE = "source"
COMPLETION = "completion"
POLICY_VERSION = "policy_version"
LOGPROB = "logprob"
STATUS = "status"
VALUE = "value"
ERROR = "error"
DURATION_S = "duration_s"
API_CALLS = "api_calls"
REWARD = "reward"
REWARD_DETAIL = "reward_detail"
BACKEND = "backend"  # the visual backend whose tools the program ran with (visual.backend)
ORACLE_REWARD = "oracle_reward"  # the same program's reward with the oracle's tools (null: not rerun)
FAILURE = "failure"  # "" solved, else tool | program | both (null: not attributed); selftrain.attribution
TOOL_ERRORS = "tool_errors"  # judged tool calls answered wrongly (null: no referee)
TOOL_TRACE = "tool_trace"  # JSON list of the run's tool calls (ExecResult.trace): MLflow traces

SCHEMA = pa.schema([
    (ITERATION, pa.int32()),
    (PHASE, pa.string()),
    (TASK_ID, pa.string()),
    (KIND, pa.string()),
    (SPLIT, pa.string()),  # the task's split (null in files written before it was kept)
    (TEMPLATE, pa.string()),
    (SAMPLE, pa.int32()),
    (SOURCE, pa.string()),
    (COMPLETION, pa.string()),
    (POLICY_VERSION, pa.int32()),
    (LOGPROB, pa.float64()),
    (STATUS, pa.string()),
    (VALUE, pa.string()),  # JSON of the plain result value
    (ERROR, pa.string()),
    (DURATION_S, pa.float64()),
    (API_CALLS, pa.int32()),
    (REWARD, pa.float64()),
    (REWARD_DETAIL, pa.string()),
    (BACKEND, pa.string()),
    (ORACLE_REWARD, pa.float64()),
    (FAILURE, pa.string()),
    (TOOL_ERRORS, pa.int32()),
    (TOOL_TRACE, pa.string()),  # null in files written before it was kept
])


def make_row(iteration: int, phase: str, sample: int, task: Task, program: Program,
             result: ExecResult, reward: Reward, backend: str = "", oracle_reward: float | None = None,
             failure: str | None = None, tool_errors: int | None = None) -> dict[str, Any]:
    """One trajectory row from the records of each stage (and, when attributed, of the
    oracle rerun: ``visrep.selftrain.attribution``)."""
    return {
        ITERATION: iteration,
        PHASE: phase,
        TASK_ID: task.id,
        KIND: task.kind,
        SPLIT: task.split,
        TEMPLATE: str(task.meta.get("template", "")),
        SAMPLE: sample,
        SOURCE: program.source,
        COMPLETION: program.completion,
        POLICY_VERSION: program.policy_version,
        LOGPROB: float(program.logprob),
        STATUS: result.status,
        VALUE: json.dumps(result.value, default=str),
        ERROR: result.error,
        DURATION_S: float(result.duration_s),
        API_CALLS: int(result.api_calls),
        REWARD: float(reward.value),
        REWARD_DETAIL: reward.detail,
        BACKEND: backend,
        ORACLE_REWARD: oracle_reward,
        FAILURE: failure,
        TOOL_ERRORS: tool_errors,
        TOOL_TRACE: json.dumps(list(result.trace), default=str),
    }


def tool_trace(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The row's tool calls (``ExecResult.trace``), empty for rows written before they were kept."""
    return json.loads(row.get(TOOL_TRACE) or "[]")


def write_rows(rows: list[dict[str, Any]], path: Path) -> None:
    """Write rows as zstd Parquet atomically."""
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a trajectory file, as dicts keyed by the column constants."""
    return pq.read_table(path, schema=SCHEMA).to_pylist()
