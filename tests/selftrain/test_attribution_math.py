"""Attribution's and re-distillation's arithmetic on hand-made rows and calls."""

import json
import math

from visrep.selftrain import trajectories as T
from visrep.selftrain.attribution import BOTH, PROGRAM, TOOL, attribution_metrics, call_rows, failure_class
from visrep.selftrain.redistill import error_rates, failing_tools, random_objects, wrong_objects
from visrep.world.records import Scene, SceneObject


def _call(tool: str, image: str, agree: bool, objects: list[list[object]], split: str = "id") -> dict[str, object]:
    return {"tool": tool, "image_id": image, "box": [0, 0, 8, 8], "args": ["star"], "answer": [], "oracle": [],
            "agree": agree, "objects": objects, "split": split}


def test_failure_classes() -> None:
    assert failure_class(1.0, None, 3, 1.0) == ""  # solved, whatever its tools said
    assert failure_class(0.0, 1.0, 1, 1.0) == TOOL
    assert failure_class(0.0, 0.0, 0, 1.0) == PROGRAM
    assert failure_class(0.0, 0.0, 2, 1.0) == BOTH
    assert failure_class(0.0, None, 0, 1.0) == PROGRAM  # rejected: not rerun


def test_metrics_count_each_kinds_programs_and_distinct_calls() -> None:
    rows = [{T.KIND: "vqa", T.SPLIT: "seen", T.FAILURE: f, T.ORACLE_REWARD: o}
            for f, o in ((TOOL, 1.0), (PROGRAM, 0.0), ("", 1.0), ("", None))]
    calls = call_rows(1, "eval", [_call("find", "a", False, []), _call("find", "a", False, []),
                                  _call("simple_query", "b", True, [], "ood")])
    assert [c["calls"] for c in calls] == [2, 1]  # the repeated call is one row, counted twice
    m = attribution_metrics(rows, calls, "eval", rerun_all=True)
    assert m["eval/failure/tool/vqa"] == m["eval/failure/program/vqa"] == 0.25 and m["eval/failure/both/vqa"] == 0
    assert m["eval/tool_error/find"] == 1.0 and m["eval/tool_error/simple_query/ood"] == 0.0
    assert m["eval/tool_error/all"] == 0.5 and m["eval/oracle_reward/vqa/seen"] == 0.5
    assert "eval/oracle_reward/vqa" not in attribution_metrics(rows, calls, "eval", rerun_all=False)


def test_targeted_objects_random_control_and_error_rates() -> None:
    star, circle = [1.0, 1.0, 5.0, 5.0, "red star"], [6.0, 6.0, 9.0, 9.0, "blue circle"]
    calls = [{**c, "objects": json.dumps(c["objects"])} for c in (
        _call("find", "a", False, [star, circle]), _call("verify_property", "a", False, [star]),
        _call("simple_query", "b", True, [circle]))]
    assert wrong_objects(calls, 10, 0) == [("a", (1.0, 1.0, 5.0, 5.0)), ("a", (6.0, 6.0, 9.0, 9.0))]
    assert len(wrong_objects(calls, 1, 0)) == 1
    assert failing_tools(calls) == ["find", "verify_property"]
    rates = error_rates(calls, [True, False, False], failing_tools(calls))
    assert rates["failing"] == 0.5 and math.isclose(rates["all"], 2 / 3) and rates["simple_query"] == 1.0
    assert math.isnan(error_rates([], [], ["find"])["failing"])
    scenes = [Scene("a", 10, 10, (SceneObject("star", "red", "small", "plain", (1, 1, 5, 5)),)),
              Scene("b", 10, 10, (SceneObject("circle", "blue", "small", "plain", (6, 6, 9, 9)),))]
    assert sorted(random_objects(scenes, 5, 0)) == [("a", (1, 1, 5, 5)), ("b", (6, 6, 9, 9))]
    assert random_objects(scenes, 1, 0) == random_objects(scenes, 1, 0)
