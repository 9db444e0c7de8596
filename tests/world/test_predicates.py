from __future__ import annotations

import pytest

from visrep.world.predicates import describe, parse_phrase, refer
from visrep.world.records import SceneObject


def obj(desc: str, box: tuple[float, float, float, float]) -> SceneObject:
    size, pattern, color, shape = desc.split()
    return SceneObject(shape=shape, color=color, size=size, pattern=pattern, box=box)


STAR = obj("small solid red star", (0, 0, 10, 10))
CIRCLE = obj("large striped blue circle", (20, 0, 40, 20))
SQUARE = obj("small dotted red square", (50, 30, 60, 40))
SCENE = (STAR, CIRCLE, SQUARE)


@pytest.mark.parametrize("text,expected", [
    ("the small red star", {"size": "small", "color": "red", "shape": "star", "pattern": None}),
    ("all yellow objects", {"size": None, "color": "yellow", "shape": None, "pattern": None}),
    ("triangles", {"size": None, "color": None, "shape": "triangle", "pattern": None}),
    ("an Orange Cross", {"size": None, "color": "orange", "shape": "cross", "pattern": None}),
    ("big grey striped thing", {"size": "large", "color": "gray", "shape": None, "pattern": "striped"}),
    ("crosses", {"size": None, "color": None, "shape": "cross", "pattern": None}),
])
def test_parse_phrase(text: str, expected: dict) -> None:
    assert parse_phrase(text) == expected


@pytest.mark.parametrize("text,word", [("the red ball", "ball"), ("red blue star", "color")])
def test_parse_phrase_rejects(text: str, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        parse_phrase(text)


def test_describe_inverts_parse() -> None:
    for text in ("small dotted red star", "striped object", "blue crosses", "objects"):
        assert describe(parse_phrase(text), plural_noun=text.endswith("s")) == text


@pytest.mark.parametrize("text,expected", [
    ("the red star", [STAR]),
    ("all red objects", [STAR, SQUARE]),
    ("the red object left of the blue circle", [STAR]),
    ("the red object right of the circle", [SQUARE]),
    ("all objects below the star", [CIRCLE, SQUARE]),
    ("the object below the circle", [SQUARE]),
    ("the object above the red object", []),  # anchor not unique: names nothing
    ("the circle left of the circle", []),  # never related to itself
    ("the green star", []),
])
def test_refer(text: str, expected: list) -> None:
    assert refer(SCENE, text) == expected
