"""Each member of ViperGPT's still-image API (its ``image_patch.py`` and ``prompts/api.prompt``)
against its documented behaviour, over the oracle and the hand-built scene.

The scene is 128 px high, so a box's y-up edges are 128 minus its y-down ones: the star
(10, 10, 30, 30) has lower 98 and upper 118; the square (20, 90, 40, 110) lower 18, upper 38.
"""

from __future__ import annotations

import math
import types
from typing import Any

import pytest
from visual_scene import CIRCLE, SQUARE, STAR, TRIANGLE

from visrep.visual.api import (
    DEFAULT_QUESTION,
    MATH,
    ImagePatch,
    ToolError,
    api_namespace,
    best_image_match,
    bool_to_yesno,
    coerce_to_numeric,
    derive_patch,
    distance,
    llm_query,
    pixel_box,
)


def _one(image: ImagePatch, phrase: str) -> ImagePatch:
    (patch,) = image.find(phrase)
    return patch


def _edges(patch: ImagePatch) -> tuple[float, float, float, float]:
    return (patch.left, patch.lower, patch.right, patch.upper)


# ------------------------------------------------------------------ coordinates (y up)


def test_left_lower_right_upper_are_image_coordinates_with_y_up(image: ImagePatch) -> None:
    assert _edges(image) == (0, 0, 128, 128)
    assert _edges(_one(image, "star")) == (10, 98, 30, 118)  # top-left of the picture: high y
    assert _edges(_one(image, "square")) == (20, 18, 40, 38)  # bottom-left: low y
    assert all(p.lower < p.upper for p in image.find("object"))


def test_width_and_height_are_the_patch_size(image: ImagePatch) -> None:
    circle = _one(image, "circle")
    assert (circle.width, circle.height) == (50, 50)
    assert (image.crop(0, 0, 40, 10).width, image.crop(0, 0, 40, 10).height) == (40, 10)


def test_horizontal_center_grows_to_the_right(image: ImagePatch) -> None:
    assert _one(image, "star").horizontal_center == 20
    assert _one(image, "triangle").horizontal_center > _one(image, "star").horizontal_center


def test_vertical_center_grows_upwards(image: ImagePatch) -> None:
    star, square = _one(image, "star"), _one(image, "square")
    assert (star.vertical_center, square.vertical_center) == (108, 28)
    assert star.vertical_center > square.vertical_center  # the star is above the square


# ------------------------------------------------------------------ constructor and crop


def test_image_patch_of_a_patch_is_the_same_region_as_a_new_patch(image: ImagePatch) -> None:
    copy = derive_patch(image)
    assert copy is not image and _edges(copy) == _edges(image)
    assert copy.count("object") == 4  # the same image and backend


def test_image_patch_with_coordinates_is_relative_to_the_given_patch_y_up(image: ImagePatch) -> None:
    circle = _one(image, "circle")
    corner = derive_patch(circle, 0, 0, 10, 10)  # the circle's bottom-left 10 x 10
    assert _edges(corner) == (60, 28, 70, 38)
    assert pixel_box(corner) == (60, 90, 70, 100)
    assert _edges(derive_patch(image, 0, 64, 128, 128)) == (0, 64, 128, 128)  # the top half
    assert derive_patch(image, 0, 64, 128, 128).count("object") == 2  # the star and triangle


def test_image_patch_refuses_what_is_not_a_patch_and_partial_coordinates(image: ImagePatch) -> None:
    with pytest.raises(TypeError, match="ImagePatch\\(\\) needs an ImagePatch"):
        derive_patch("img0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="all four of left, lower, right, upper, or none"):
        derive_patch(image, 0, 0)


def test_crop_is_relative_to_the_patch_clipped_and_never_empty(image: ImagePatch) -> None:
    circle = _one(image, "circle")
    assert _edges(circle.crop(10, 20, 30, 40)) == (70, 48, 90, 68)
    assert _edges(circle.crop(-50, -50, 500, 500)) == _edges(circle)  # clipped to the circle
    left_half = image.crop(0, 0, image.width / 2, image.height)
    assert _edges(left_half) == (0, 0, 64, 128) and left_half.count("object") == 2
    with pytest.raises(ValueError, match="ImagePatch has no area"):
        image.crop(10, 10, 10, 20)
    with pytest.raises(ValueError, match="ImagePatch has no area"):
        circle.crop(60, 0, 80, 10)  # right of the circle: nothing of it is left


def test_overlaps_with_takes_image_coordinates_y_up_and_counts_touching(image: ImagePatch) -> None:
    star = _one(image, "star")  # (10, 98, 30, 118)
    assert star.overlaps_with(0, 90, 20, 100)
    assert not star.overlaps_with(0, 10, 20, 30)  # its y-down numbers are elsewhere when y is up
    assert star.overlaps_with(30, 118, 40, 128)  # touching at a corner counts, as in ViperGPT
    circle = _one(image, "circle")
    assert not star.overlaps_with(circle.left, circle.lower, circle.right, circle.upper)


# ------------------------------------------------------------------ tools


def test_find_returns_the_patches_of_the_matching_objects(image: ImagePatch) -> None:
    assert [pixel_box(p) for p in image.find("red object")] == [STAR.box, SQUARE.box]
    assert image.find("yellow hexagon") == []
    assert [pixel_box(p) for p in image.crop(64, 0, 128, 128).find("object")] == [CIRCLE.box, TRIANGLE.box]


def test_exists(image: ImagePatch) -> None:
    assert image.exists("blue circle") and not image.exists("blue star")


def test_verify_property_presupposes_the_object(image: ImagePatch) -> None:
    star = _one(image, "star")
    assert star.verify_property("star", "red") and not star.verify_property("star", "striped")


class _Stub:
    """A backend that records what it was asked and answers the first option / "star"."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def best_text_match(self, image_id: str, box: Any, options: list[str]) -> str:
        self.asked.append(options)
        return options[-1]

    def simple_query(self, image_id: str, box: Any, question: str) -> str:
        self.asked.append(question)
        return "star"


def _stub_root() -> tuple[_Stub, ImagePatch]:
    stub = _Stub()
    return stub, api_namespace(stub, "img0", (128, 128))[1]  # type: ignore[arg-type]


def test_best_text_match_returns_an_option(image: ImagePatch) -> None:
    star = _one(image, "star")
    assert star.best_text_match(["blue", "red"]) == "red"
    assert star.best_text_match(option_list=["circle", "star"]) == "star"


def test_best_text_match_prefix_is_asked_but_the_option_is_returned(image: ImagePatch) -> None:
    assert _one(image, "star").best_text_match(["blue", "red"], prefix="small") == "red"
    stub, root = _stub_root()
    assert root.best_text_match(["blue", "red"], "small") == "red"
    assert stub.asked == [["small blue", "small red"]]
    with pytest.raises(ValueError, match="non-empty list"):
        root.best_text_match()


def test_simple_query_answers_a_question_and_asks_what_is_this_without_one(image: ImagePatch) -> None:
    assert _one(image, "star").simple_query("What color is the star?") == "red"
    stub, root = _stub_root()
    assert root.simple_query() == "star"
    assert stub.asked == [DEFAULT_QUESTION] == ["What is this?"]


def test_compute_depth_is_a_tool_error_here(image: ImagePatch) -> None:
    with pytest.raises(ToolError, match=r"^compute_depth\(\) is not available in this configuration"):
        image.compute_depth()


def test_llm_query_method_and_function_are_tool_errors_here(image: ImagePatch) -> None:
    with pytest.raises(ToolError, match=r"^llm_query\(\) is not available in this configuration"):
        image.llm_query("What city is the Eiffel tower in?", long_answer=False)
    with pytest.raises(ToolError, match=r"^llm_query\(\) is not available in this configuration"):
        llm_query("Who invented the star?", context=None, long_answer=True)


# ------------------------------------------------------------------ module functions


def test_best_image_match_takes_a_list_of_texts_and_can_return_the_index(image: ImagePatch) -> None:
    objects = image.find("object")  # square, star, circle, triangle (left to right)
    assert pixel_box(best_image_match(objects, ["striped circle"])) == CIRCLE.box  # type: ignore[arg-type]
    # the mean over texts: the square is both red and striped, the star only red
    assert pixel_box(best_image_match(objects, ["red object", "striped object"])) == SQUARE.box  # type: ignore[arg-type]
    assert best_image_match(objects, ["green triangle"], return_index=True) == 3
    assert pixel_box(best_image_match(objects, "blue circle")) == CIRCLE.box  # type: ignore[arg-type]
    assert best_image_match([], ["star"]) is None


def test_distance_is_between_edges(image: ImagePatch) -> None:
    star, triangle, circle = (_one(image, n) for n in ("star", "triangle", "circle"))
    assert distance(star, triangle) == 60  # side by side: 90 - 30
    assert distance(star, circle) == pytest.approx(math.hypot(60 - 30, 98 - 78))


def test_distance_of_overlapping_patches_is_minus_their_iou(image: ImagePatch) -> None:
    a, b = image.crop(0, 0, 20, 20), image.crop(10, 10, 30, 30)
    assert distance(a, b) == pytest.approx(-100 / 700)
    assert distance(a, derive_patch(a)) == -1.0
    assert distance(a, image.crop(20, 0, 40, 20)) == 0  # touching: no gap, no overlap


def test_distance_of_two_numbers_is_their_absolute_difference(image: ImagePatch) -> None:
    assert distance(3, 10.5) == 7.5 and distance(10.5, 3) == 7.5
    with pytest.raises(TypeError, match="two patches or two numbers"):
        distance(image, 3)


def test_bool_to_yesno() -> None:
    assert (bool_to_yesno(True), bool_to_yesno(False)) == ("yes", "no")


@pytest.mark.parametrize(("text", "number"), [
    ("2 stars", 2), ("There are three.", 3), ("-1.5", -1.5), ("10-15", 10), ("twenty one", 21),
    ("two hundred and five", 205), ("zero", 0), ("3.0 px", 3.0),
])
def test_coerce_to_numeric_reads_the_number(text: str, number: float) -> None:
    value = coerce_to_numeric(text)
    assert (value, type(value)) == (number, type(number))


def test_coerce_to_numeric_without_a_number_returns_the_string_or_raises() -> None:
    assert coerce_to_numeric("none") == "none"
    with pytest.raises(ValueError, match="no number in 'none'"):
        coerce_to_numeric("none", no_string=True)


def test_math_is_a_read_only_namespace_of_the_math_module() -> None:
    assert MATH.sqrt(16) == 4 and MATH.pi == math.pi and MATH.hypot(3, 4) == 5
    assert set(dir(MATH)) == {n for n in dir(math) if not n.startswith("_")}
    assert not any(isinstance(getattr(MATH, n), types.ModuleType) for n in dir(MATH))
    with pytest.raises(AttributeError, match="math is read-only"):
        MATH.sqrt = len
    with pytest.raises(AttributeError, match="math has no attribute 'sys'"):
        MATH.sys  # noqa: B018
    assert not hasattr(MATH, "__dict__")
