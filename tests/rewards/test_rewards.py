"""Rewards on hand-checkable inputs."""

import pytest

from visrep.programs.records import ExecResult
from visrep.rewards import detect_reward, normalize_answer, retrieve_reward, score, vqa_reward
from visrep.world.records import Task


def test_detect_single_box_iou_threshold() -> None:
    gt = [[0.0, 0.0, 10.0, 10.0]]
    assert detect_reward([[0.0, 0.0, 10.0, 10.0]], gt).value == 1.0
    assert detect_reward([[0.0, 0.0, 10.0, 5.0]], gt).value == 1.0  # IoU 0.5 exactly
    assert detect_reward([[0.0, 0.0, 10.0, 4.0]], gt).value == 0.0  # IoU 0.4
    assert "0.40" in detect_reward([[0.0, 0.0, 10.0, 4.0]], gt).detail


def test_detect_many_boxes_match_one_to_one_in_any_order() -> None:
    gt = [[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]]
    assert detect_reward([gt[1], gt[0]], gt).value == 1.0
    assert detect_reward([gt[0], gt[0]], gt).value == 0.0  # the same box twice
    assert detect_reward([gt[0]], gt).value == 0.0
    assert detect_reward("box", gt).value == 0.0


@pytest.mark.parametrize("pred, answer, ok", [
    ("Yes", "yes", True), ("yes.", "yes", True), (True, "yes", True), ("two", "2", True),
    (2.0, "2", True), ("the red", "red", True), ("blue", "red", False), ("", "no", False),
])
def test_vqa_normalised_exact_match(pred: object, answer: str, ok: bool) -> None:
    assert vqa_reward(pred, answer).value == (1.0 if ok else 0.0)


def test_normalize_answer() -> None:
    assert normalize_answer("An Apple!") == "apple"


def test_retrieve_argmax_and_ties() -> None:
    assert retrieve_reward([0.1, 0.9, 0.2], 1).value == 1.0
    assert retrieve_reward([0.9, 0.1], 1).value == 0.0
    assert retrieve_reward([1.0, 1.0], 0).value == 0.0
    assert retrieve_reward([], 0).value == 0.0
    assert retrieve_reward(["x"], 0).value == 0.0


def test_score_dispatches_and_failed_runs_earn_nothing() -> None:
    task = Task("vqa/1", "vqa", "Is there a star?", ("img",), {"answer": "yes"})
    assert score(task, ExecResult("ok", "yes")).value == 1.0
    assert score(task, ExecResult("timeout", None, "deadline")).value == 0.0
    det = Task("detect/1", "detect", "the star", ("img",), {"boxes": [[0, 0, 4, 4]]})
    assert score(det, ExecResult("ok", [[0, 0, 4, 4]])).value == 1.0
    ret = Task("retrieve/1", "retrieve", "a star", ("a", "b"), {"index": 1})
    assert score(ret, ExecResult("ok", [0.0, 1.0])).value == 1.0
