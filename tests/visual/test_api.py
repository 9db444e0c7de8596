"""ImagePatch over the oracle: tool calls, arguments, what a program can and cannot reach, and
the conversion of a program's value (each ViperGPT member against its documented behaviour:
``test_vipergpt_api.py``)."""

from __future__ import annotations

import pytest
from visual_scene import SCENE, SQUARE, STAR, Counting

from visrep.visual.api import (
    PROGRAM_FUNCTIONS,
    PROGRAM_NAMES,
    ImagePatch,
    api_namespace,
    derive_patch,
    pixel_box,
    to_plain,
)
from visrep.visual.oracle import OracleBackend


def test_the_root_patch_is_the_whole_image(image: ImagePatch) -> None:
    assert pixel_box(image) == (0, 0, 128, 128)
    assert (image.width, image.height, image.area) == (128, 128, 128 * 128)


def test_find_sorts_left_to_right_and_each_question_is_one_tool_call() -> None:
    backend = Counting()  # the executor counts the calls that reach its backend
    _, image = api_namespace(backend, SCENE.image_id, (SCENE.width, SCENE.height))
    reds = image.find("red object")
    assert [pixel_box(p) for p in reds] == [STAR.box, SQUARE.box]
    assert image.exists("blue circle") and not image.exists("blue star")
    assert image.count("objects") == 4
    assert backend.calls == 4
    reds[0].verify_property("star", "red")
    assert backend.calls == 5  # derived patches ask the root's backend
    assert (image.crop(0, 0, 10, 10).area, backend.calls) == (100, 5)  # geometry asks nothing
    assert (derive_patch(image).width, backend.calls) == (128, 5)


def test_methods_on_derived_patches(image: ImagePatch) -> None:
    (star,) = image.find("star")
    assert star.verify_property("star", "solid")
    assert star.best_text_match(["blue", "red"]) == "red"
    assert star.simple_query("what shape is the red object") == "star"
    assert star.image_text_score("red star") == 1.0
    assert not star.exists("square")


def test_bad_arguments_fail_with_one_line(image: ImagePatch) -> None:
    with pytest.raises(TypeError, match="find\\(\\) object_name must be a str, got int"):
        image.find(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty list"):
        image.best_text_match([])


def test_patch_exposes_only_the_api(image: ImagePatch) -> None:
    public = {n for n in dir(image) if not n.startswith("_")}
    assert public == {  # ViperGPT's still-image members, and visrep's count, image_text_score, area
        "left", "lower", "right", "upper", "width", "height", "horizontal_center",
        "vertical_center", "area", "find", "exists", "count", "verify_property",
        "best_text_match", "simple_query", "image_text_score", "compute_depth", "crop",
        "overlaps_with", "llm_query",
    }
    assert not hasattr(image, "__dict__")
    with pytest.raises(AttributeError):
        image.left = 3  # type: ignore[misc]


def test_namespace_holds_functions_not_the_class(oracle: OracleBackend) -> None:
    namespace, root = api_namespace(oracle, "img0", (128, 96))
    assert namespace == dict(PROGRAM_NAMES)
    assert set(namespace) == {"ImagePatch", "math", *(f.__name__ for f in PROGRAM_FUNCTIONS)}
    assert namespace["ImagePatch"] is derive_patch and ImagePatch not in namespace.values()
    assert pixel_box(root) == (0, 0, 128, 96)


def test_to_plain_detect(image: ImagePatch) -> None:
    assert to_plain(image.find("star")[0], "detect") == [list(STAR.box)]
    assert to_plain(image.find("red object"), "detect") == [list(STAR.box), list(SQUARE.box)]
    assert to_plain([], "detect") == []


@pytest.mark.parametrize(("value", "kind", "plain"), [
    (True, "vqa", "yes"),
    (3, "vqa", "3"),
    (2.0, "vqa", "2"),
    (2.5, "vqa", "2.5"),
    ("  Red ", "vqa", "red"),
    (False, "retrieve", 0.0),
    (3, "retrieve", 3.0),
])
def test_to_plain_vqa_and_retrieve(value: object, kind: str, plain: object) -> None:
    assert to_plain(value, kind) == plain  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "kind"), [
    ("star", "detect"), ([1, 2], "detect"), (None, "vqa"), (["a"], "vqa"), ("1.0", "retrieve"),
])
def test_to_plain_rejects_other_types(value: object, kind: str) -> None:
    with pytest.raises(TypeError, match=f"^a {kind} program must return .*, not "):
        to_plain(value, kind)  # type: ignore[arg-type]
