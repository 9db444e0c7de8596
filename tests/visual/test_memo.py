"""The per-image memo: repeated calls are free, answers are exact and cannot be tampered with."""

from __future__ import annotations

from typing import Any

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.visual.memo import TOOLS, MemoBackend
from visrep.visual.oracle import OracleBackend
from visual_scene import SCENE

BOX = (0.0, 0.0, float(SCENE.width), float(SCENE.height))


class Counting:
    """The oracle, counting the calls that reach it."""

    def __init__(self) -> None:
        self.inner, self.calls = OracleBackend({SCENE.image_id: SCENE}), 0

    def __getattr__(self, name: str) -> Any:
        self.calls += 1
        return getattr(self.inner, name)


def test_repeated_calls_reach_the_backend_once_with_the_same_answers() -> None:
    backend = Counting()
    memo = MemoBackend(backend)
    args = {"find": ("star",), "verify_property": ("star", "red"),
            "best_text_match": (["red", "blue"],), "simple_query": ("what color is the star?",),
            "image_text_score": ("red star",)}
    assert set(args) == set(TOOLS)
    first = {t: getattr(memo, t)(SCENE.image_id, BOX, *a) for t, a in args.items()}
    again = {t: getattr(memo, t)(SCENE.image_id, BOX, *a) for t, a in args.items()}
    direct = {t: getattr(backend.inner, t)(SCENE.image_id, BOX, *a) for t, a in args.items()}
    assert first == again == {t: (list(v) if t == "find" else v) for t, v in direct.items()}
    assert backend.calls == len(TOOLS) and (memo.hits, memo.misses) == (5, 5)


def test_the_key_is_image_call_box_and_arguments() -> None:
    backend = Counting()
    memo = MemoBackend(backend)
    memo.find(SCENE.image_id, BOX, "star")
    memo.find(SCENE.image_id, BOX, "circle")
    memo.find(SCENE.image_id, (0.0, 0.0, 10.0, 10.0), "star")
    memo.image_text_score(SCENE.image_id, BOX, "star")
    assert backend.calls == 4 and len(memo) == 4


def test_a_caller_cannot_change_a_remembered_answer() -> None:
    memo = MemoBackend(Counting())
    boxes = memo.find(SCENE.image_id, BOX, "star")
    boxes.clear()
    assert memo.find(SCENE.image_id, BOX, "star")


def test_bounded_by_images_and_calls_per_image() -> None:
    backend = Counting()
    memo = MemoBackend(backend, images=1, calls_per_image=2)
    for name in ("star", "circle", "square"):
        memo.find(SCENE.image_id, BOX, name)
    assert len(memo) == 2
    memo.find(SCENE.image_id, BOX, "square")  # the third was answered, not kept
    assert backend.calls == 4
