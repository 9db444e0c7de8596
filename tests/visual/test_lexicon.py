"""The WordNet reader behind the real-data grammar: base forms, attested senses, relations."""

from __future__ import annotations

from visrep.visual.lexicon import ADJ, MEMBERS, NOUN, wordnet


def test_base_forms_follow_morphy() -> None:
    w = wordnet()
    assert w.base_forms("cars", NOUN) == ["car"]
    assert w.base_forms("persons", NOUN) == ["person"]
    assert w.base_forms("men", NOUN) == ["men", "man"]  # a lemma of its own (workforce), and man's plural
    assert w.base_forms("traffic lights", NOUN) == ["traffic_light"]
    assert w.base_forms("bigger", ADJ) == ["bigger", "big"]
    assert w.base_forms("zorbly", NOUN) == []


def test_senses_and_relations() -> None:
    w = wordnet()
    car = w.senses("car", NOUN)[0]
    assert "automobile" in w.words(car) and w.senses("automobile", NOUN)[0] == car
    assert len(w.senses("mouse", NOUN)) == 4 and len(w.senses("mouse", NOUN, attested=True)) == 1
    person = w.senses("person", NOUN)[0]
    assert person in w.related(w.senses("people", NOUN)[0], MEMBERS)
    assert person in w.ancestors(w.senses("man", NOUN)[0])
    assert w.senses("vehicle", NOUN)[0] in w.ancestors(car)
