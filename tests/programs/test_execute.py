"""execute(): the three task kinds end to end over the oracle, through the real sandbox;
and both ends of a tool call, driven by ``TOOLS``: the worker's ``RemoteBackend`` and the
executor's ``serve_tool``."""

from __future__ import annotations

import json
from typing import Any

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.config import ExecutorConfig
from visrep.programs.executor import RemoteBackend, execute, serve_tool
from visrep.programs.records import ExecResult
from visrep.programs.text import extract_program
from visrep.visual.memo import MemoBackend
from visrep.visual.oracle import OracleBackend
from visrep.world.records import Scene, SceneObject, Task

RED_STAR = SceneObject("star", "red", "small", "solid", (10.0, 10.0, 30.0, 30.0))
BLUE_CIRCLE = SceneObject("circle", "blue", "large", "striped", (60.0, 40.0, 100.0, 80.0))
BLUE_STAR = SceneObject("star", "blue", "small", "dotted", (70.0, 70.0, 90.0, 90.0))
SCENES = {
    "a": Scene("a", 128, 96, (BLUE_CIRCLE, RED_STAR)),
    "b": Scene("b", 128, 96, (BLUE_STAR,)),
}
SIZES = {s.image_id: (s.width, s.height) for s in SCENES.values()}
LIMITS = ExecutorConfig(timeout_s=2.0, memory_mb=256)


@pytest.fixture(scope="module")
def oracle() -> OracleBackend:
    return OracleBackend(SCENES)


def _run(body: str, task: Task, oracle: OracleBackend) -> ExecResult:
    return execute(extract_program(body), task, oracle, SIZES, LIMITS)


def test_detect(oracle: OracleBackend) -> None:
    task = Task("d", "detect", "the star left of the circle", ("a",),
                {"boxes": [list(RED_STAR.box)]})
    body = (
        "    circle = image.find('circle')[0]\n"
        "    stars = image.find('star')\n"
        "    return [s for s in stars if s.horizontal_center < circle.horizontal_center]\n"
    )
    result = _run(body, task, oracle)
    assert (result.status, result.value, result.api_calls) == ("ok", [list(RED_STAR.box)], 2)


def test_vqa(oracle: OracleBackend) -> None:
    task = Task("v", "vqa", "What color is the star?", ("a",), {"answer": "red"})
    result = _run("    return image.find('star')[0].simple_query('What color is the star?')\n",
                  task, oracle)
    assert (result.status, result.value, result.api_calls) == ("ok", "red", 2)


def test_retrieve_scores_every_candidate(oracle: OracleBackend) -> None:
    task = Task("r", "retrieve", "a red star", ("a", "b"), {"index": 0})
    result = _run("    return image.image_text_score('red star')\n", task, oracle)
    assert (result.status, result.value, result.api_calls) == ("ok", [1.0, 0.0], 2)


def test_retrieve_fails_with_the_first_failing_candidate(oracle: OracleBackend) -> None:
    task = Task("r", "retrieve", "a red star", ("a", "b"), {"index": 0})
    result = _run("    print('scoring')\n    return 1 / image.count('red star')\n", task, oracle)
    assert result.status == "error" and result.value is None
    assert result.error == "ZeroDivisionError: division by zero (line 3)"
    assert result.extra == {"stdout": "scoring\nscoring\n", "candidate": 1}
    assert result.api_calls == 2  # the executor counts calls, so the failed run reports its own


@pytest.mark.parametrize(("body", "status", "error"), [
    ("    import os\n", "rejected", "line 2: import is not allowed"),
    ("    return None\n", "error", "TypeError: a vqa program must return the answer as a"),
    ("    return image._ImagePatch__backend\n", "rejected", "starts with an underscore"),
    ("    return image.best_text_match(['red'] * 101)\n", "error",
     "ToolError: ValueError: best_text_match needs 1 to 100 options (line 2)"),
    ("    return image.simple_query('x' * 1001)\n", "error",
     "ToolError: ValueError: text longer than 1000 characters (line 2)"),
    # the task sentence is not a tool query: the program must do the relation, the count, the logic
    ("    return bool_to_yesno(image.exists('star left of the circle'))\n", "error",
     "ToolError: UnsupportedQuery: unsupported query: noun phrase 'star left of the circle': "
     "unknown word 'left' (a noun phrase is [size] [pattern] [colour] noun;"),
    ("    return image.simple_query('Is there a star?')\n", "error",
     "ToolError: UnsupportedQuery: unsupported query: question 'Is there a star?': simple_query answers"),
])
def test_failures_keep_their_status(oracle: OracleBackend, body: str, status: str,
                                    error: str) -> None:
    task = Task("v", "vqa", "Is there a star?", ("a",), {"answer": "yes"})
    result = _run(body, task, oracle)
    assert (result.status, result.value) == (status, None)
    assert error in result.error


WHOLE = [0.0, 0.0, 128.0, 96.0]


@pytest.mark.parametrize(("request_", "error"), [
    ("find", "malformed tool request"),
    (["find", WHOLE], "malformed tool request"),
    ([["find"], WHOLE, ["star"]], "malformed tool request"),
    (["compute_depth", WHOLE, ["star"]], "malformed tool request"),
    (["find", WHOLE, "star"], "malformed tool request"),
    (["find", [0, 0, 1], ["star"]], "a box is four finite numbers"),
    (["find", [0, 0, 1, float("nan")], ["star"]], "a box is four finite numbers"),
    (["find", [0, 0, 1, True], ["star"]], "a box is four finite numbers"),
    (["find", WHOLE, []], "wrong number of arguments for find"),
    (["verify_property", WHOLE, ["star"]], "wrong number of arguments for verify_property"),
    (["find", WHOLE, [3]], "expected a str, got int"),
    (["verify_property", WHOLE, ["star", None]], "expected a str, got NoneType"),
    (["image_text_score", WHOLE, ["x" * 1001]], "text longer than 1000 characters"),
    (["best_text_match", WHOLE, [[]]], "best_text_match needs 1 to 100 options"),
    (["best_text_match", WHOLE, ["red"]], "best_text_match needs 1 to 100 options"),
    (["best_text_match", WHOLE, [["red"] * 101]], "best_text_match needs 1 to 100 options"),
    (["best_text_match", WHOLE, [["red", 1]]], "expected a str, got int"),
])
def test_serve_tool_refuses_what_tools_does_not_declare(oracle: OracleBackend, request_: Any,
                                                         error: str) -> None:
    with pytest.raises((TypeError, ValueError), match=f"^{error}$"):
        serve_tool(MemoBackend(oracle).call, "a", request_)


def test_remote_backend_answers_every_tool_as_the_backend_does(oracle: OracleBackend) -> None:
    memo, sent = MemoBackend(oracle), []

    def rpc(call: Any) -> Any:  # the socket: JSON both ways
        sent.append(json.loads(json.dumps(call)))
        return json.loads(json.dumps(serve_tool(memo.call, "a", sent[-1])))

    remote, box = RemoteBackend(rpc), (0.0, 0.0, 128.0, 96.0)
    calls = {"find": ("star",), "verify_property": ("star", "red"),
             "best_text_match": (("red", "blue"),), "simple_query": ("what color is the star",),
             "image_text_score": ("red star",)}
    for tool, args in calls.items():
        answer = getattr(remote, tool)("ignored: the job's image", box, *args)
        direct = getattr(oracle, tool)("a", box, *args)
        assert (answer, type(answer)) == (direct, type(direct)), tool
    assert sent[2] == ["best_text_match", list(box), [["red", "blue"]]]
    with pytest.raises(AttributeError):
        remote.compute_depth  # noqa: B018  (not a tool)
