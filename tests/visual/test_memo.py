"""The per-image memo: repeated calls are free, answers are exact and cannot be tampered with."""

from __future__ import annotations

from visual_scene import SCENE, STAR, Counting

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.visual.backend import TOOLS
from visrep.visual.memo import MemoBackend

BOX = (0.0, 0.0, float(SCENE.width), float(SCENE.height))


def test_repeated_calls_reach_the_backend_once_with_the_same_answers() -> None:
    backend = Counting()
    memo = MemoBackend(backend)
    args = {"find": ("star",), "verify_property": ("star", "red"),
            "best_text_match": (["red", "blue"],), "simple_query": ("what color is the star?",),
            "image_text_score": ("red star",)}
    assert set(args) == set(TOOLS)
    first = {t: memo.call(t, SCENE.image_id, BOX, a) for t, a in args.items()}
    again = {t: memo.call(t, SCENE.image_id, BOX, a) for t, a in args.items()}
    direct = {t: getattr(backend.inner, t)(SCENE.image_id, BOX, *a) for t, a in args.items()}
    assert first == again == {t: (list(v) if t == "find" else v) for t, v in direct.items()}
    assert backend.calls == len(TOOLS) and (memo.hits, memo.misses) == (5, 5)


def test_the_key_is_image_call_box_and_arguments() -> None:
    backend = Counting()
    memo = MemoBackend(backend)
    memo.call("find", SCENE.image_id, BOX, ["star"])
    memo.call("find", SCENE.image_id, BOX, ["circle"])
    memo.call("find", SCENE.image_id, (0.0, 0.0, 10.0, 10.0), ["star"])
    memo.call("image_text_score", SCENE.image_id, BOX, ["star"])
    assert backend.calls == 4 and len(memo) == 4
    assert set(memo.snapshot()[SCENE.image_id]) == {
        ("find", BOX, "star"), ("find", BOX, "circle"), ("find", (0.0, 0.0, 10.0, 10.0), "star"),
        ("image_text_score", BOX, "star")}


def test_a_caller_cannot_change_a_remembered_answer() -> None:
    memo = MemoBackend(Counting())
    boxes = memo.call("find", SCENE.image_id, BOX, ["star"])
    boxes.clear()
    assert memo.call("find", SCENE.image_id, BOX, ["star"])
    options = ["red", "blue"]
    memo.call("best_text_match", SCENE.image_id, BOX, [options])
    options.append("green")  # the key was frozen when the answer was stored
    assert memo.snapshot()[SCENE.image_id] == {("find", BOX, "star"): (STAR.box,),
                                               ("best_text_match", BOX, ("red", "blue")): "blue"}


def test_bounded_by_images_and_calls_per_image() -> None:
    backend = Counting()
    memo = MemoBackend(backend, images=1, calls_per_image=2)
    for name in ("star", "circle", "square"):
        memo.call("find", SCENE.image_id, BOX, [name])
    assert len(memo) == 2
    memo.call("find", SCENE.image_id, BOX, ["square"])  # the third was answered, not kept
    assert backend.calls == 4
