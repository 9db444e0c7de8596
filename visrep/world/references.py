"""Reference programs: the body of a correct program for each task template.

Each generator writes one beside its task (``Task.meta["reference"]``), so every task
comes with a program that earns its reward: the ceiling the tools allow, reported as
the ``reference`` baseline (``visrep.programs.baselines``).  The world sits below
``visrep.programs``, so a reference is plain text: the statements of the body of
``execute_command(image)``, unindented, which the program text module wraps and indents.

A reference asks the tools only what their grammar allows (``visrep.visual.grammar``):
noun phrases ("small striped red star", "red objects") and "What <attribute> is the
<noun phrase>?".  Relations, counts, comparisons and logic are written in Python with
the meaning ``predicates`` gives them: a relation compares box centres strictly, which
also keeps an object from relating to itself, and a "the ..." phrase the generator wrote
names exactly one object, so ``find(...)[0]`` is that object.

References speak the visual API's (ViperGPT's) coordinates, y UP (``vertical_center``
grows towards the top of the image), while the world's boxes are y DOWN (image pixels):
"above" is a larger ``vertical_center``, and ``extreme`` turns the world's vertical end
into the API's.
"""

from __future__ import annotations

import json

# Each relation of predicates.RELATIONS as a test on two patches' box centres.
RELATION_TESTS: dict[str, str] = {
    "left of": "{a}.horizontal_center < {b}.horizontal_center",
    "right of": "{a}.horizontal_center > {b}.horizontal_center",
    "above": "{a}.vertical_center > {b}.vertical_center",
    "below": "{a}.vertical_center < {b}.vertical_center",
}
# A caption's "X and Y": two distinct objects.  Objects never overlap, so two patches of
# distinct objects are at a distance >= 0, and a patch is at -1 (minus IoU) from itself.
_PAIR_TESTS = {**RELATION_TESTS, "and": "distance({a}, {b}) >= 0"}


def _lines(*lines: str) -> str:
    return "\n".join(lines)


def _find(phrase: str) -> str:
    """The call finding every object a noun phrase names, as patches."""
    return f"image.find({json.dumps(phrase)})"


def _query(patch: str, attribute: str, phrase: str) -> str:
    """The call asking ``patch`` one attribute of the object ``phrase`` names there."""
    return f"{patch}.simple_query({json.dumps(f'What {attribute} is the {phrase}?')})"


def _yesno(condition: str) -> str:
    return f"return bool_to_yesno({condition})"


def _anchored(anchor: str) -> str:
    """The line leaving in ``anchor`` the one object the ``anchor`` phrase names."""
    return f"anchor = {_find(anchor)}[0]"


def _in_relation(phrase: str, relation: str) -> str:
    """The list of ``phrase`` objects in ``relation`` to ``anchor`` (after ``_anchored``)."""
    test = RELATION_TESTS[relation].format(a="p", b="anchor")
    return f"[p for p in {_find(phrase)} if {test}]"


def _related(head: str, relation: str, anchor: str) -> str:
    """Lines that leave in ``target`` the one ``head`` object in ``relation`` to the ``anchor`` one."""
    return _lines(_anchored(anchor), f"target = {_in_relation(head, relation)}[0]")


# ---------------------------------------------------------------- detect


def the_object(phrase: str) -> str:
    """"the PHRASE": the one object it names."""
    return f"return {_find(phrase)}[0]"


def related_object(head: str, relation: str, anchor: str) -> str:
    """"the HEAD RELATION the ANCHOR"."""
    return _lines(_related(head, relation, anchor), "return target")


def all_objects(phrase: str) -> str:
    """"all PHRASE": every object it names (maybe none)."""
    return f"return {_find(phrase)}"


def extreme(phrase: str, axis: str, end: int) -> str:
    """"the PHRASE furthest to the SIDE": the phrase's objects sorted by box centre along
    ``axis`` (horizontal or vertical), the one at ``end`` (0 least, -1 most) in the world's
    image coordinates (y down), so the other end of the API's y-up order when vertical."""
    index = end if axis == "horizontal" else -1 - end
    return f"return sorted({_find(phrase)}, key=lambda p: p.{axis}_center)[{index}]"


def all_related(phrase: str, relation: str, anchor: str) -> str:
    """"all PHRASE RELATION the ANCHOR": every such object (the anchor relates to none itself)."""
    return _lines(_anchored(anchor), f"return {_in_relation(phrase, relation)}")


# ---------------------------------------------------------------- vqa


def exists(phrase: str) -> str:
    """"Is there a PHRASE?"."""
    return _yesno(f"image.exists({json.dumps(phrase)})")


def count(phrase: str) -> str:
    """"How many PHRASE are there?"."""
    return f"return str(image.count({json.dumps(phrase)}))"


def query(attribute: str, phrase: str) -> str:
    """"What ATTRIBUTE is the PHRASE?" (the phrase names one object)."""
    return f"return {_query('image', attribute, phrase)}"


def larger(first: str, second: str) -> str:
    """"Is the FIRST larger than the SECOND?": sizes are words, large or small."""
    return _yesno(f"{_query('image', 'size', first)} == \"large\" and "
                  f"{_query('image', 'size', second)} == \"small\"")


def same(attribute: str, first: str, second: str) -> str:
    """"Do the FIRST and the SECOND have the same ATTRIBUTE?"."""
    return _yesno(f"{_query('image', attribute, first)} == {_query('image', attribute, second)}")


def related_query(attribute: str, head: str, relation: str, anchor: str) -> str:
    """"What ATTRIBUTE is the HEAD RELATION the ANCHOR?"."""
    return _lines(_related(head, relation, anchor), f"return {_query('target', attribute, head)}")


def relation_holds(first: str, relation: str, second: str) -> str:
    """"Is the FIRST RELATION the SECOND?" (two distinct objects)."""
    test = RELATION_TESTS[relation].format(a="a", b="b")
    return _lines(f"a = {_find(first)}[0]", f"b = {_find(second)}[0]", _yesno(test))


def logic(op: str, first: str, second: str) -> str:
    """"Is there a FIRST and/or a SECOND?"."""
    return _yesno(f"image.exists({json.dumps(first)}) {op} image.exists({json.dumps(second)})")


def more(first: str, second: str) -> str:
    """"Are there more FIRST than SECOND?"."""
    return _yesno(f"image.count({json.dumps(first)}) > image.count({json.dumps(second)})")


def count_related(phrase: str, relation: str, anchor: str) -> str:
    """"How many PHRASE are RELATION the ANCHOR?"."""
    return _lines(_anchored(anchor), f"return str(len({_in_relation(phrase, relation)}))")


# ---------------------------------------------------------------- retrieve: a score per image


def caption_single(phrase: str) -> str:
    """"a PHRASE": 1.0 when the image has one, else 0.0."""
    return f"return float(image.exists({json.dumps(phrase)}))"


def caption_count(number: int, phrase: str) -> str:
    """"NUMBER PHRASE": 1.0 when the image has exactly that many."""
    return f"return float(image.count({json.dumps(phrase)}) == {number})"


def caption_pair(first: str, word: str, second: str) -> str:
    """"a FIRST WORD a SECOND", WORD "and" or a relation: 1.0 when two distinct objects fit."""
    test = _PAIR_TESTS[word].format(a="a", b="b")
    return _lines(f"firsts = {_find(first)}", f"seconds = {_find(second)}",
                  f"return float(any({test} for a in firsts for b in seconds))")


def caption_negation(first: str, second: str) -> str:
    """"a FIRST and no SECOND": 1.0 when the image has the one and none of the other."""
    return f"return float(image.exists({json.dumps(first)}) and not image.exists({json.dumps(second)}))"


def caption_count_pair(number: int, first: str, second: str) -> str:
    """"NUMBER FIRST and a SECOND": exactly that many of the one and at least one of the other."""
    return f"return float(image.count({json.dumps(first)}) == {number} and image.exists({json.dumps(second)}))"
