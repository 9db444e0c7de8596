"""ImagePatch and the module functions, over the oracle; what a program can and cannot reach."""

from __future__ import annotations

import pytest
from visual_scene import CIRCLE, SCENE, SQUARE, STAR, Counting

from visrep.visual.api import (
    PROGRAM_FUNCTIONS,
    ImagePatch,
    api_namespace,
    best_image_match,
    bool_to_yesno,
    coerce_to_numeric,
    distance,
    to_plain,
)
from visrep.visual.oracle import OracleBackend


def test_geometry_of_the_root_patch(image: ImagePatch) -> None:
    assert (image.left, image.top, image.right, image.bottom) == (0, 0, 128, 128)
    assert (image.width, image.height, image.area) == (128, 128, 128 * 128)
    assert (image.horizontal_center, image.vertical_center) == (64, 64)
    assert image.box == (0, 0, 128, 128)


def test_find_sorts_left_to_right_and_each_question_is_one_tool_call() -> None:
    backend = Counting()  # the executor counts the calls that reach its backend
    _, image = api_namespace(backend, SCENE.image_id, (SCENE.width, SCENE.height))
    reds = image.find("red object")
    assert [p.box for p in reds] == [STAR.box, SQUARE.box]
    assert image.exists("blue circle") and not image.exists("blue star")
    assert image.count("objects") == 4
    assert backend.calls == 4
    reds[0].verify_property("star", "red")
    assert backend.calls == 5  # derived patches ask the root's backend
    assert (image.crop(0, 0, 10, 10).area, backend.calls) == (100, 5)  # geometry asks nothing


def test_methods_on_derived_patches(image: ImagePatch) -> None:
    (star,) = image.find("star")
    assert star.verify_property("star", "solid")
    assert star.best_text_match(["blue", "red"]) == "red"
    assert star.simple_query("what shape is the red object") == "star"
    assert star.image_text_score("red star") == 1.0
    assert not star.exists("square")


def test_crop_uses_image_coordinates_and_clips(image: ImagePatch) -> None:
    left = image.crop(-10, -10, image.horizontal_center, 500)
    assert left.box == (0, 0, 64, 128)
    assert left.count("objects") == 2
    inner = left.crop(50, 50, 100, 100)
    assert inner.box == (50, 50, 64, 100)
    assert image.crop(100, 100, 90, 90).area == 0  # inverted: empty, not an error


def test_overlaps_with(image: ImagePatch) -> None:
    (circle,) = image.find("circle")
    assert circle.overlaps_with(100, 90, 120, 120)
    assert not circle.overlaps_with(0, 0, 60, 50)  # touching edges share no area


def test_module_functions(image: ImagePatch) -> None:
    objects = image.find("object")
    assert best_image_match(objects, "striped circle").box == CIRCLE.box
    assert best_image_match([], "star") is None
    a, b = image.crop(0, 0, 2, 2), image.crop(3, 4, 5, 6)  # centres (1, 1) and (4, 5)
    assert distance(a, b) == 5.0
    assert (bool_to_yesno(True), bool_to_yesno(False)) == ("yes", "no")
    assert coerce_to_numeric("2 stars") == 2.0
    assert coerce_to_numeric("There are three.") == 3.0
    assert coerce_to_numeric("-1.5") == -1.5
    with pytest.raises(ValueError, match="no number"):
        coerce_to_numeric("none")


def test_bad_arguments_fail_with_one_line(image: ImagePatch) -> None:
    with pytest.raises(TypeError, match="find\\(\\) object_name must be a str, got int"):
        image.find(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty list"):
        image.best_text_match([])


def test_patch_exposes_only_the_api(image: ImagePatch) -> None:
    public = {n for n in dir(image) if not n.startswith("_")}
    assert public == {
        "left", "top", "right", "bottom", "width", "height", "horizontal_center",
        "vertical_center", "area", "box", "find", "exists", "count", "verify_property",
        "best_text_match", "simple_query", "image_text_score", "crop", "overlaps_with",
    }
    assert not hasattr(image, "__dict__")
    with pytest.raises(AttributeError):
        image.left = 3  # type: ignore[misc]


def test_namespace_holds_functions_not_the_class(oracle: OracleBackend) -> None:
    namespace, root = api_namespace(oracle, "img0", (128, 128))
    assert set(namespace) == {f.__name__ for f in PROGRAM_FUNCTIONS}
    assert ImagePatch not in namespace.values()
    assert root.box == (0, 0, 128, 128)


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
