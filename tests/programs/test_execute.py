"""execute(): the three task kinds end to end over the oracle, through the real sandbox."""

from __future__ import annotations

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.config import ExecutorConfig
from visrep.programs.extract import extract_program
from visrep.programs.records import ExecResult
from visrep.selftrain.execute import execute
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
])
def test_failures_keep_their_status(oracle: OracleBackend, body: str, status: str,
                                    error: str) -> None:
    task = Task("v", "vqa", "Is there a star?", ("a",), {"answer": "yes"})
    result = _run(body, task, oracle)
    assert (result.status, result.value) == (status, None)
    assert error in result.error
