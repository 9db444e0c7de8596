"""What a person sees of a phase in MLflow, beside its metrics: the programs the policy wrote
as a table, each evaluated program as a trace (one span per tool call: arguments, answer,
backend, time), and for a few detection and VQA tasks the image with the program's ``find``
boxes and the ground truth drawn.

Every view of a phase is replaced, not appended to, when a crashed stage runs again:
MLflow's ``log_table`` appends to a table of the same name, so the table is written here
in its format (pandas' split JSON, listed in the run's ``mlflow.loggedArtifacts`` tag so the
UI offers it as a table) and a phase's earlier traces are deleted before its new ones.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_LOGGED_ARTIFACTS

from visrep.selftrain import trajectories as T
from visrep.selftrain.overlays import overlay
from visrep.world.loaders import image_path
from visrep.world.records import Task

MAX_TRACES = 1000  # per phase: the held-out tasks of every shipped profile fit
OVERLAYS_PER_KIND = 4  # images drawn per evaluated phase, for each of OVERLAY_KINDS
OVERLAY_KINDS = ("detect", "vqa")
TABLE_COLUMNS = (T.TASK_ID, T.KIND, T.SPLIT, T.SAMPLE, T.SOURCE, T.STATUS, T.REWARD, T.ORACLE_REWARD,
                 T.FAILURE, T.VALUE, T.ERROR)
ITERATION_TAG, PHASE_TAG = "visrep.iteration", "visrep.phase"


def table_file(iteration: int, phase: str) -> str:
    return f"programs/iter_{iteration:03d}_{phase}.json"


def log_table(client: MlflowClient, run_id: str, frame: pd.DataFrame, artifact_file: str) -> None:
    """``frame`` as the run's table ``artifact_file`` (replacing one of that name)."""
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / Path(artifact_file).name
        frame.to_json(local, orient="split", index=False)
        client.log_artifact(run_id, str(local), str(Path(artifact_file).parent))
    listed = json.loads(client.get_run(run_id).data.tags.get(MLFLOW_LOGGED_ARTIFACTS, "[]"))
    entry = {"path": artifact_file, "type": "table"}
    if entry not in listed:
        client.set_tag(run_id, MLFLOW_LOGGED_ARTIFACTS, json.dumps([*listed, entry]))


def program_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One line per program: task, kind, split, sample, program, status, reward, error."""
    return pd.DataFrame([{c: row[c] for c in TABLE_COLUMNS} for row in rows], columns=list(TABLE_COLUMNS))


def _span_times(row: dict[str, Any], trace: list[dict[str, Any]], now_ns: int) -> tuple[int, int]:
    """The program's run as (start, end) ns: around its tool calls, as long as it ran."""
    duration = int(row[T.DURATION_S] * 1e9)
    if not trace:
        return now_ns - duration, now_ns
    start = trace[0]["start_ns"]
    return start, max(trace[-1]["end_ns"], start + duration)


def _delete_traces(client: MlflowClient, run_id: str, experiment_id: str, tags: dict[str, str]) -> None:
    """Delete the run's traces that carry ``tags`` (a phase's, from an attempt that crashed)."""
    query = " AND ".join(f"tag.`{k}` = '{v}'" for k, v in tags.items())
    while found := client.search_traces(locations=[experiment_id], run_id=run_id, filter_string=query,
                                        max_results=500, include_spans=False):
        client.delete_traces(experiment_id, trace_ids=[t.info.trace_id for t in found])


def log_traces(client: MlflowClient, run_id: str, experiment_id: str, rows: list[dict[str, Any]],
               tasks: Mapping[str, Task], iteration: int, phase: str, now_ns: int) -> int:
    """One trace per program of ``rows`` (the first ``MAX_TRACES``), a ``TOOL`` span per tool
    call; earlier traces of the same iteration and phase are deleted first.  Returns how many."""
    tags = {ITERATION_TAG: str(iteration), PHASE_TAG: phase}
    _delete_traces(client, run_id, experiment_id, tags)
    for row in rows[:MAX_TRACES]:
        task = tasks[row[T.TASK_ID]]
        trace = T.tool_trace(row)
        start, end = _span_times(row, trace, now_ns)
        root = client.start_trace(
            f"{phase} {task.id}", span_type="CHAIN", run_id=run_id, experiment_id=experiment_id,
            inputs={"task": task.text, "kind": task.kind, "program": row[T.SOURCE]}, start_time_ns=start,
            tags={**tags, "visrep.task": task.id, "visrep.kind": task.kind, "visrep.status": row[T.STATUS]},
            attributes={"backend": row[T.BACKEND] or "", "iteration": str(iteration), "phase": phase})
        for call in trace:
            span = client.start_span(call["tool"], trace_id=root.trace_id, parent_id=root.span_id, span_type="TOOL",
                                     inputs={"image": call["image_id"], "box": call["box"], "args": call["args"]},
                                     attributes={"backend": row[T.BACKEND] or ""}, start_time_ns=call["start_ns"])
            outputs = {"answer": call["answer"], **{k: call[k] for k in ("oracle", "agree") if k in call}}
            client.end_span(root.trace_id, span.span_id, outputs=outputs, end_time_ns=call["end_ns"])
        client.end_trace(root.trace_id, status="OK" if row[T.STATUS] == "ok" else "ERROR", end_time_ns=end,
                         outputs={"answer": json.loads(row[T.VALUE]), "status": row[T.STATUS], "error": row[T.ERROR],
                                  "reward": row[T.REWARD], "oracle_reward": row[T.ORACLE_REWARD],
                                  "failure": row[T.FAILURE]})
    mlflow.flush_trace_async_logging()
    return min(len(rows), MAX_TRACES)


def overlay_file(iteration: int, phase: str, task_id: str) -> str:
    """The artifact path of a task's drawn image (its id as one path component: ``detect/18``
    becomes ``detect_18``)."""
    return f"overlays/iter_{iteration:03d}/{phase}/{re.sub(r'[^A-Za-z0-9_.-]', '_', task_id)}.png"


def log_overlays(client: MlflowClient, run_id: str, rows: list[dict[str, Any]], tasks: Mapping[str, Task],
                 world_dir: Path, iteration: int, phase: str) -> list[str]:
    """Draw the first ``OVERLAYS_PER_KIND`` programs of each of ``OVERLAY_KINDS`` (task
    order: the same tasks every iteration) as PNG artifacts; returns their artifact paths."""
    logged = []
    for kind in OVERLAY_KINDS:
        for row in [r for r in rows if r[T.KIND] == kind][:OVERLAYS_PER_KIND]:
            task = tasks[row[T.TASK_ID]]
            name = overlay_file(iteration, phase, task.id)
            client.log_image(run_id, overlay(image_path(world_dir, task.images[0]), task, row), artifact_file=name)
            logged.append(name)
    return logged
