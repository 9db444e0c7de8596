"""The oracle on real annotations (COCO categories, GQA names/attributes/relations): words
reach annotated names and attributes through WordNet; anything else is UnsupportedQuery."""

from __future__ import annotations

from pathlib import Path

import pytest
from real_scenes import BUS, CAR, CART, COCO, COCO_OTHER, GQA, MAN, PERSON, TABLE, WHOLE, WOMAN

from visrep.visual.annotations import AnnotationGrammar, grammar_for
from visrep.visual.backend import make_backend
from visrep.visual.grammar import SHAPES, UnsupportedQuery
from visrep.visual.oracle import OracleBackend
from visrep.visual.referee import Referee
from visrep.world.records import UNKNOWN

C, G = COCO.image_id, GQA.image_id


@pytest.fixture(scope="module")
def coco() -> OracleBackend:
    backend = make_backend("oracle", {C: COCO, COCO_OTHER.image_id: COCO_OTHER}, Path("unused"))
    assert isinstance(backend, OracleBackend) and isinstance(backend.grammar, AnnotationGrammar)
    return backend


@pytest.fixture(scope="module")
def gqa() -> OracleBackend:
    return OracleBackend({G: GQA})


@pytest.mark.parametrize(("phrase", "boxes"), [
    ("person", [PERSON.box]), ("the person", [PERSON.box]),
    ("persons", [PERSON.box]), ("people", [PERSON.box]),  # plural; WordNet's "people" has persons as members
    ("cars", [CAR.box]), ("automobile", [CAR.box]), ("an auto", [CAR.box]),  # synonyms share a sense
    ("vehicles", [CAR.box]),  # kinds of the word (WordNet files a bus under public transport)
    ("man", [PERSON.box]),  # COCO annotates only "person": the nearest annotated kind
    ("objects", [PERSON.box, CAR.box, BUS.box]),
    ("giraffe", []),  # annotated in the world's other image, not in this one
])
def test_find_reads_coco_categories_through_wordnet(coco: OracleBackend, phrase: str, boxes: list) -> None:
    assert coco.find(C, WHOLE, phrase) == boxes


def test_gqa_names_keep_their_own_words(gqa: OracleBackend) -> None:
    assert gqa.find(G, WHOLE, "man") == [MAN.box]  # annotated: never widened to the woman
    assert gqa.find(G, WHOLE, "men") == [MAN.box]
    assert gqa.find(G, WHOLE, "people") == [MAN.box, WOMAN.box]  # both are persons
    assert gqa.find(G, WHOLE, "wooden table") == [TABLE.box]
    assert gqa.find(G, WHOLE, "wooden things") == [CART.box, TABLE.box]
    assert gqa.find(G, WHOLE, "white tables") == [TABLE.box]
    assert gqa.find(G, WHOLE, "big table") == [TABLE.box]  # big ~ large (one WordNet sense)
    assert gqa.find(G, WHOLE, "red cart") == []
    assert gqa.find(G, (0.0, 0.0, 100.0, 100.0), "carts") == [CART.box]  # centres inside the patch


@pytest.mark.parametrize(("scene", "tool", "args", "why"), [
    (COCO, "find", ("zorbly",), "means 'zorbly'"),  # no English word
    (COCO, "find", ("pond",), "means 'pond'"),  # English, but no annotated name means it
    (COCO, "find", ("red car",), "means 'red'"),  # COCO annotates no attributes
    (GQA, "find", ("carts near the pond",), "relation 'near'"),  # relations are the program's job
    (GQA, "verify_property", ("table", "striped"), "means 'striped'"),
    (GQA, "simple_query", ("Are there carts near the pond?",), "simple_query answers"),
    (GQA, "simple_query", ("What is the man doing?",), "simple_query answers"),
    (GQA, "best_text_match", (["a cart", "a zorbly"],), "means 'zorbly'"),
    (GQA, "image_text_score", ("",), "names no object"),
])
def test_words_no_annotation_means_are_errors(coco: OracleBackend, gqa: OracleBackend, scene, tool: str,
                                              args: tuple, why: str) -> None:
    backend = coco if scene is COCO else gqa
    for box in (WHOLE, (0.0, 0.0, 1.0, 1.0)):  # whatever the patch holds
        with pytest.raises(UnsupportedQuery, match=r"^unsupported query: .*" + why) as info:
            getattr(backend, tool)(scene.image_id, box, *args)
        assert "\n" not in str(info.value)


def test_verify_property_reads_annotated_attributes(gqa: OracleBackend) -> None:
    assert gqa.verify_property(G, WHOLE, "table", "wooden")
    assert gqa.verify_property(G, WHOLE, "table", "white wooden")
    assert not gqa.verify_property(G, WHOLE, "cart", "white")
    assert gqa.verify_property(G, WHOLE, "person", "standing")  # the man is a person
    assert not gqa.verify_property(G, WHOLE, "woman", "standing")


@pytest.mark.parametrize(("question", "answer"), [
    ("What color is the cart?", "brown"),
    ("What colour is the pond?", "blue"),
    ("what is the color of the table", "white"),
    ("What is the table made of?", "wooden"),
    ("What material is the cart?", "wooden"),
    ("What color is the woman?", UNKNOWN),  # annotated with no colour: the annotation cannot tell
    ("What color is the table?", "none"),  # no table in the patch
])
def test_simple_query_answers_from_attributes(gqa: OracleBackend, question: str, answer: str) -> None:
    patch = (0.0, 0.0, 100.0, 100.0) if "table?" in question else WHOLE
    assert gqa.simple_query(G, patch, question) == answer


def test_best_text_match_and_image_text_score(gqa: OracleBackend, coco: OracleBackend) -> None:
    assert gqa.best_text_match(G, TABLE.box, ["a cart", "a wooden table", "a table"]) == "a wooden table"
    assert gqa.best_text_match(G, CART.box, ["white", "brown"]) == "brown"
    assert coco.best_text_match(C, BUS.box, ["car", "bus"]) == "bus"
    assert gqa.image_text_score(G, WHOLE, "a wooden cart") == 1.0
    assert gqa.image_text_score(G, WHOLE, "a white cart") == 0.0


def test_the_scenes_choose_the_grammar() -> None:
    from visual_scene import SCENE

    assert grammar_for({SCENE.image_id: SCENE}) is SHAPES
    assert isinstance(grammar_for({C: COCO}), AnnotationGrammar)
    with pytest.raises(ValueError, match="mix"):
        grammar_for({C: COCO, SCENE.image_id: SCENE})


def test_the_referee_reads_real_questions_as_the_oracle_does() -> None:
    referee = Referee({G: GQA}, id_classes=("cart",), score_cut=0.5)
    row = referee.judge("simple_query", G, WHOLE, ["What color is the cart?"], "brown")
    assert row["agree"] and row["oracle"] == "brown"
    assert row["objects"] == [[*CART.box, "cart"]] and row["split"] == "id"
