"""The oracle answers exactly from annotations: it is the upper bound of the visual API."""

from __future__ import annotations

from pathlib import Path

import pytest
from visual_scene import CIRCLE, FULL, LEFT_HALF, SCENE, SQUARE, STAR

from visrep.visual.backend import make_backend
from visrep.visual.grammar import UnsupportedQuery
from visrep.visual.oracle import OracleBackend

ID = SCENE.image_id


def test_find_matches_phrase_and_box_centre(oracle: OracleBackend) -> None:
    assert oracle.find(ID, FULL, "red objects") == [SQUARE.box, STAR.box]
    assert oracle.find(ID, LEFT_HALF, "object") == [SQUARE.box, STAR.box]
    assert oracle.find(ID, LEFT_HALF, "blue circle") == []
    # the circle's box pokes into (50, 40, 90, 80) and its centre (85, 75) lies inside
    assert oracle.find(ID, (50, 40, 90, 80), "circle") == [CIRCLE.box]


@pytest.mark.parametrize(("tool", "args"), [
    ("find", ("dog",)),  # outside the vocabulary: an error, never "nothing there"
    ("find", ("star left of the circle",)),  # relations are the program's job
    ("image_text_score", ("red dog",)),
    ("image_text_score", ("a red star and a blue circle",)),  # a caption, not a description
    ("verify_property", ("star", "object")),  # no attribute word
    ("verify_property", ("star", "left")),
    ("best_text_match", (["red", "left"],)),
    ("simple_query", ("How many red objects are there?",)),
    ("simple_query", ("Is there a green triangle?",)),
    ("simple_query", ("Why is the sky blue?",)),
])
def test_text_outside_the_grammar_is_an_error(oracle: OracleBackend, tool: str, args: tuple) -> None:
    with pytest.raises(UnsupportedQuery, match=r"^unsupported query: "):
        getattr(oracle, tool)(ID, FULL, *args)
    with pytest.raises(UnsupportedQuery):  # whatever the patch holds
        getattr(oracle, tool)(ID, (0, 0, 5, 5), *args)


def test_verify_property(oracle: OracleBackend) -> None:
    assert oracle.verify_property(ID, FULL, "star", "red")
    assert not oracle.verify_property(ID, FULL, "star", "blue")
    assert oracle.verify_property(ID, FULL, "circle", "large striped")
    assert not oracle.verify_property(ID, LEFT_HALF, "circle", "striped")


def test_best_text_match_describes_the_largest_object(oracle: OracleBackend) -> None:
    assert oracle.best_text_match(ID, FULL, ["red", "blue", "green"]) == "blue"
    assert oracle.best_text_match(ID, STAR.box, ["square", "star"]) == "star"
    assert oracle.best_text_match(ID, STAR.box, ["blue star", "red star"]) == "red star"
    assert oracle.best_text_match(ID, (0, 0, 5, 5), ["red", "blue"]) == "red"  # empty: first


@pytest.mark.parametrize(("question", "answer"), [
    ("What color is the circle?", "blue"),
    ("what is the colour of the star", "red"),
    ("What shape is the striped object?", "circle"),
    ("What pattern is the triangle?", "dotted"),
    ("What size is the red square?", "small"),
    ("What pattern does the large object have?", "striped"),
    ("What color is the hexagon?", "none"),
])
def test_simple_query(oracle: OracleBackend, question: str, answer: str) -> None:
    assert oracle.simple_query(ID, FULL, question) == answer


def test_simple_query_is_limited_to_the_patch(oracle: OracleBackend) -> None:
    assert oracle.simple_query(ID, FULL, "what color is the large object") == "blue"
    assert oracle.simple_query(ID, LEFT_HALF, "what color is the large object") == "none"


def test_image_text_score(oracle: OracleBackend) -> None:
    assert oracle.image_text_score(ID, FULL, "large blue circle") == 1.0
    assert oracle.image_text_score(ID, LEFT_HALF, "large blue circle") == 0.0


def test_make_backend_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match=r"unknown visual backend 'clip' \(known: oracle, student\)"):
        make_backend("clip", {}, Path("."))
