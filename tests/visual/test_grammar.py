"""The question grammar both backends read: forms, phrases and the answers' words."""

from __future__ import annotations

from collections.abc import Sequence

from visrep.visual.grammar import Question, answer_question, parse_noun_phrase, parse_question


def test_questions_parse_to_a_form_and_a_phrase() -> None:
    assert parse_question("What color is the star?") == Question("attribute", "the star", "color")
    assert parse_question("what is the colour of the big circle") == Question("attribute", "the big circle", "color")
    assert parse_question("What shapes are the red objects?") == Question("attribute", "the red objects", "shape")
    assert parse_question("How many stars are there?") == Question("count", "stars")
    assert parse_question("Are there circles in the image?") == Question("exists", "circles")
    assert parse_question("Why?") is None


def test_noun_phrases_outside_the_vocabulary_parse_to_none() -> None:
    assert parse_noun_phrase("red star") == {"size": None, "pattern": None, "color": "red", "shape": "star"}
    assert parse_noun_phrase("zebra") is None


def test_answers_use_the_backends_find_and_attribute() -> None:
    found = {"star": ["a", "b"], "circle": []}

    def find(phrase: str) -> list[str]:
        return found.get(phrase, [])

    def attribute(objects: Sequence[str], key: str) -> str:
        return f"{key} of {objects[0]}"

    assert answer_question("how many star", find, attribute) == "2"
    assert answer_question("is there circle", find, attribute) == "no"
    assert answer_question("is there star", find, attribute) == "yes"
    assert answer_question("what size is star", find, attribute) == "size of a"
    assert answer_question("what size is circle", find, attribute) == "none"
    assert answer_question("who?", find, attribute) == "unknown"
