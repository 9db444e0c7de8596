"""The primitive grammar every backend reads: noun phrases, properties, attribute questions;
anything else is an UnsupportedQuery naming the text and why."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from visrep.visual.grammar import (
    Question,
    UnsupportedQuery,
    answer_question,
    is_noun_phrase,
    noun_phrase,
    property_words,
    question,
)


def test_attribute_questions_parse_to_an_attribute_and_a_phrase() -> None:
    assert question("What color is the star?") == Question("color", "the star")
    assert question("what is the colour of the big circle") == Question("color", "the big circle")
    assert question("What shapes are the red objects?") == Question("shape", "the red objects")
    assert question("What pattern does the large object have?") == Question("pattern", "the large object")


@pytest.mark.parametrize("text", [
    "How many stars are there?",  # counting is the program's job
    "Is there a red star?",  # existence: exists()
    "What color is the star left of the circle?",  # a relation inside the phrase
    "Why?",
])
def test_other_questions_are_unsupported(text: str) -> None:
    with pytest.raises(UnsupportedQuery, match=r"^unsupported query: question .*program's job|"
                                                r"^unsupported query: noun phrase"):
        question(text)


def test_noun_phrases_and_their_limits() -> None:
    assert noun_phrase("the big red star") == {"size": "large", "pattern": None, "color": "red", "shape": "star"}
    assert noun_phrase("all hexagons")["shape"] == "hexagon"
    for text, word in (("star left of the circle", "'left'"), ("two stars", "'two'"),
                       ("red star and blue circle", "'and'"), ("zebra", "'zebra'")):
        with pytest.raises(UnsupportedQuery) as info:
            noun_phrase(text)
        message = str(info.value)
        assert message.startswith(f"unsupported query: noun phrase {text!r}: unknown word {word}")
        assert "program's job" in message and "\n" not in message
        assert not is_noun_phrase(text)
    assert is_noun_phrase("a dotted red hexagon")


def test_properties_name_an_attribute() -> None:
    assert property_words("large striped")["pattern"] == "striped"
    with pytest.raises(UnsupportedQuery, match="names no colour, size, pattern or shape"):
        property_words("object")
    with pytest.raises(UnsupportedQuery, match="unknown word 'left'"):
        property_words("left")


def test_answers_use_the_backends_find_and_attribute() -> None:
    found = {"star": ["a", "b"], "circle": []}

    def find(phrase: str) -> list[str]:
        return found[phrase]

    def attribute(objects: Sequence[str], key: str) -> str:
        return f"{key} of {objects[0]}"

    assert answer_question("what size is star", find, attribute) == "size of a"
    assert answer_question("what size is circle", find, attribute) == "none"
    with pytest.raises(UnsupportedQuery):
        answer_question("how many star", find, attribute)
