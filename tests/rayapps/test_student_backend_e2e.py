"""The tiny profile with student tools end to end: the job obtains a student (tiny distillation,
cached), attributes every failed program, writes the judged tool calls, and a re-distillation
stage added to the finished run re-distils on the wrong calls' objects, measured against random
crops, and hands the executors the new student."""

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from tiny_run import TinyRun

from rayapps.selftrain import main as selftrain_main
from visrep.selftrain import trajectories as T
from visrep.selftrain.attribution import FAILURES, call_rows, read_calls, write_calls
from visrep.selftrain.rundir import RunDir
from visrep.vlm.student import StudentDir
from visrep.world import load_scenes

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_student_tools_attribution_and_redistillation(tiny_run: TinyRun, tmp_path: Path, ray_cluster: None) -> None:
    tiny_run = tiny_run.copy(tmp_path)  # re-distilled below
    run, args = tiny_run.dir, tiny_run.args()
    rd = RunDir(run)
    for phase in ("passthrough", "reference", "eval"):
        rows = pd.read_parquet(rd.trajectories(0, phase))
        assert (rows[T.BACKEND] == "student").all()
        failed = rows[rows[T.REWARD] < 1.0]
        assert set(failed[T.FAILURE]) <= set(FAILURES) and (rows[rows[T.REWARD] >= 1.0][T.FAILURE] == "").all()
        ran = rows[rows[T.STATUS] != "rejected"]
        assert ran[T.ORACLE_REWARD].notna().all()  # evaluation reruns every program with the oracle's tools
    grow = pd.read_parquet(rd.trajectories(1, "grow"))
    assert grow[grow[T.REWARD] < 1.0][T.FAILURE].isin(FAILURES).all()
    calls = read_calls(rd.tool_calls(0, "reference"))
    assert calls and {"find", "simple_query"} & {c["tool"] for c in calls}
    assert all(c["split"] in ("id", "ood", "none") for c in calls)
    client = mlflow.tracking.MlflowClient(tiny_run.mlflow_uri)
    metrics = client.get_run((run / "mlflow_run_id").read_text().strip()).data.metrics
    assert {"eval/failure/tool/vqa", "eval/failure/program/vqa", "eval/oracle_reward/vqa",
            "reference/tool_error/all"} <= set(metrics)

    # The session's policy makes one tool call per program (find/count/exists "object"), which
    # the tiny student may answer right every time: give grow wrong calls on every train image
    # (as a wrong `find` would).
    scenes = load_scenes(run / "world")
    wrong = [{"tool": "find", "image_id": i, "box": [0, 0, s.width, s.height], "args": ["objects"], "answer": [],
              "oracle": [list(o.box) for o in s.objects], "agree": False,
              "objects": [[*o.box, o.class_name] for o in s.objects], "split": "ood"}
             for i, s in sorted(scenes.items()) if i.startswith("train")]
    write_calls(call_rows(1, "grow", wrong), rd.tool_calls(1, "grow"))
    # the grow stage's marker records what it wrote; re-record it with the edited calls
    rd.mark_done(1, "grow", rd.stage_info(1, "grow"), [rd.trajectories(1, "grow"), rd.tool_calls(1, "grow")])
    assert selftrain_main([*args, "redistill.every=1", "redistill.steps=3", "redistill.batch_size=8"]) == 0
    info = json.loads((rd.iteration(1) / "redistill.done").read_text())
    assert info["student_dir"] == str(rd.iteration(1) / "students" / "targeted")
    assert StudentDir(Path(info["student_dir"])).ready_for_tools()
    assert StudentDir(rd.iteration(1) / "students" / "random").ready_for_tools()
    for arm in ("targeted", "random"):
        assert info[f"redistill/{arm}/crops"] == info["redistill/crops"] > 0
        assert f"redistill/{arm}/student/ood/teacher_agreement" in info
        assert f"redistill/{arm}/reward/vqa" in info
    assert "redistill/before/tool_error/all" in info
