"""A phase's MLflow views: one trace per program with a span per tool call, the program
table, drawn boxes; a rerun of a crashed phase replaces them instead of adding to them."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from PIL import Image

from rayapps import views
from visrep.programs.records import ExecResult, Program
from visrep.rewards.records import Reward
from visrep.selftrain import trajectories as T
from visrep.selftrain.overlays import FOUND, TRUTH, WIDTH, overlay
from visrep.world.records import Task

FIND = {"tool": "find", "image_id": "img0", "box": [0, 0, 32, 32], "args": ["circle"],
        "answer": [[4.0, 4.0, 12.0, 12.0]], "start_ns": 1_000_000_000, "end_ns": 1_002_000_000,
        "oracle": [[4.0, 4.0, 12.0, 12.0]], "agree": True}
QUERY = {**FIND, "tool": "simple_query", "args": ["what color is the circle?"], "answer": "red",
         "start_ns": 1_003_000_000, "end_ns": 1_004_000_000, "oracle": "blue", "agree": False}


def _rows() -> tuple[list[dict], dict[str, Task]]:
    tasks = {"d0": Task("d0", "detect", "the circle", ("img0",), {"boxes": [[16.0, 16.0, 28.0, 28.0]]}, "seen"),
             "q0": Task("q0", "vqa", "what color is the circle?", ("img0",), {"answer": "blue"}, "seen")}
    results = {"d0": ExecResult("ok", [[4.0, 4.0, 12.0, 12.0]], duration_s=0.01, api_calls=1, trace=(FIND,)),
               "q0": ExecResult("error", None, "NameError: x", duration_s=0.02, api_calls=2, trace=(FIND, QUERY))}
    rows = [T.make_row(1, "eval", 0, tasks[t], Program(t, "def execute_command(image):\n    return 1"),
                       results[t], Reward(0.0 if t == "q0" else 0.5), backend="student") for t in tasks]
    return rows, tasks


@pytest.fixture()
def store(tmp_path: Path) -> tuple[MlflowClient, str, str]:
    """A fresh sqlite MLflow store: its client, an experiment and a run in it."""
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = mlflow.set_experiment("views").experiment_id
    client = mlflow.tracking.MlflowClient()
    return client, experiment, client.create_run(experiment).info.run_id


def test_each_program_is_a_trace_with_a_span_per_tool_call_and_a_rerun_replaces_them(
        store: tuple[MlflowClient, str, str]) -> None:
    client, experiment, run = store
    rows, tasks = _rows()
    for _ in range(2):  # the phase ran, crashed before its marker, and ran again
        assert views.log_traces(client, run, experiment, rows, tasks, 1, "eval", now_ns=2_000_000_000) == 2
    traces = client.search_traces(locations=[experiment], run_id=run)
    assert len(traces) == 2
    by_task = {t.info.tags["visrep.task"]: t for t in traces}
    query = by_task["q0"]
    assert query.info.state.value == "ERROR"
    root = next(s for s in query.data.spans if s.parent_id is None)
    assert root.inputs["program"].startswith("def execute_command") and root.outputs["error"] == "NameError: x"
    tools = sorted((s for s in query.data.spans if s.parent_id is not None), key=lambda s: s.start_time_ns)
    assert [(s.name, s.span_type) for s in tools] == [("find", "TOOL"), ("simple_query", "TOOL")]
    assert tools[1].inputs["args"] == ["what color is the circle?"]
    assert tools[1].outputs == {"answer": "red", "oracle": "blue", "agree": False}
    assert tools[1].attributes["backend"] == "student"
    assert (tools[1].end_time_ns - tools[1].start_time_ns) == 1_000_000
    assert by_task["d0"].info.state.value == "OK"


def test_the_program_table_is_replaced_on_a_rerun_and_listed_once(store: tuple[MlflowClient, str, str],
                                                                   tmp_path: Path) -> None:
    client, _, run = store
    rows, _ = _rows()
    for _ in range(2):
        views.log_table(client, run, views.program_table(rows), views.table_file(1, "grow"))
    local = client.download_artifacts(run, "programs/iter_001_grow.json", str(tmp_path))
    frame = pd.read_json(local, orient="split")
    assert list(frame[T.TASK_ID]) == ["d0", "q0"] and list(frame[T.STATUS]) == ["ok", "error"]
    listed = json.loads(client.get_run(run).data.tags["mlflow.loggedArtifacts"])
    assert listed == [{"path": "programs/iter_001_grow.json", "type": "table"}]


def test_overlay_draws_the_truth_in_green_and_find_answers_in_red(tmp_path: Path) -> None:
    Image.new("RGB", (32, 32), "white").save(tmp_path / "img0.png")
    rows, tasks = _rows()
    drawn = overlay(tmp_path / "img0.png", tasks["d0"], rows[0])
    scale = WIDTH / 32
    assert drawn.width == WIDTH and drawn.height > WIDTH  # the caption below the image
    assert drawn.getpixel((round(16 * scale) + 1, round(22 * scale))) == TRUTH  # left edge of the truth
    assert drawn.getpixel((round(4 * scale), round(8 * scale))) == FOUND  # left edge of find's box
    assert drawn.getpixel((round(8 * scale), round(8 * scale))) == (255, 255, 255)  # inside: the image
