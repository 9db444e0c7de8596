"""What the tools understand: one primitive grammar, shared by every backend.

Tools answer visual primitives, as ViperGPT's do (a detector grounds a noun phrase; a VQA
model answers a simple question about one patch), never the task's sentence: relations,
counting, comparison and logic are the program's job.  So that one tool call on the task
text cannot stand in for a program, and so a typo never reads as "nothing there", anything
outside the grammar raises :class:`UnsupportedQuery` naming the text and why; through the
executor the program sees ``ToolError: UnsupportedQuery: unsupported query: ...``.

- **noun phrase** (``find``/``exists``/``count``, ``verify_property``'s object,
  ``image_text_score``, each ``best_text_match`` option): ``[determiner] [size] [pattern]
  [colour] noun`` in the words of ``visrep.world.predicates`` (synonyms included), e.g.
  "the small striped red star", "red objects", "all hexagons".
- **property** (``verify_property``): attribute words only, at least one, e.g. "striped",
  "large red".
- **question** (``simple_query``): one attribute of one object of the patch, "what
  colour/shape/pattern/size is X" (or "... does X have"), X a noun phrase.

Every backend reads a text the same way (the oracle from annotations, the student from
pixels), so two backends can disagree about an image, never about what was asked.

That is the grammar of the shapes world, whose words are ``visrep.world.predicates``'.  Real
data (COCO, GQA, RefCOCO) annotates open English names and attribute words, read by the
grammar of ``visrep.visual.annotations`` (WordNet behind it).  Which grammar a backend reads
is chosen from the scenes it is given (``visrep.visual.annotations.grammar_for``), not from a setting: real
objects carry ``UNKNOWN`` colours, so the data says which world it is, and no setting can
disagree with it.  Both satisfy :class:`Grammar`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from visrep.world.predicates import ATTRIBUTES, Attrs, matches, parse_phrase
from visrep.world.records import SceneObject

_ATTRIBUTE = re.compile(
    r"^what (?:is the |are the )?(colou?r|shape|pattern|size)s?(?: of| is| are| does| do)? (.+?)(?: have)?$"
)
_ATTRIBUTE_WORD = {"color": "color", "colour": "color", "shape": "shape",
                   "pattern": "pattern", "size": "size"}
PROGRAM_JOB = "relations, counting, comparison and logic are the program's job"

Found = TypeVar("Found")


class UnsupportedQuery(ValueError):
    """A tool was asked something outside the primitive grammar (one line: what and why)."""

    def __init__(self, kind: str, text: str, why: str) -> None:
        super().__init__(f"unsupported query: {kind} {text[:120]!r}: {why}")


@dataclass(frozen=True)
class Question:
    """A ``simple_query`` question: which ``attribute`` (color, shape, pattern or size) of
    the object the noun ``phrase`` names."""

    attribute: str
    phrase: str


def noun_phrase(text: str) -> Attrs:
    """The attributes a noun phrase fixes (None = any); raises UnsupportedQuery otherwise."""
    try:
        return parse_phrase(text)
    except ValueError as exc:
        reason = str(exc).replace(f" in phrase {text!r}", "")
        raise UnsupportedQuery("noun phrase", text,
                               f"{reason} (a noun phrase is [size] [pattern] [colour] noun; {PROGRAM_JOB})") from None


def is_noun_phrase(text: str) -> bool:
    """Whether ``text`` is a noun phrase of the grammar (one object's description)."""
    try:
        noun_phrase(text)
    except UnsupportedQuery:
        return False
    return True


def property_words(text: str) -> Attrs:
    """The attributes a property names (at least one); raises UnsupportedQuery otherwise."""
    attrs = noun_phrase(text)
    if all(v is None for v in attrs.values()):
        raise UnsupportedQuery("property", text, "names no colour, size, pattern or shape")
    return attrs


def question(text: str) -> Question:
    """The attribute question ``text`` asks; raises UnsupportedQuery for any other question.

    Case and punctuation are ignored ("What color is the star?" reads "what color is the star").
    """
    words = " ".join(re.findall(r"[a-z]+", text.lower()))
    m = _ATTRIBUTE.match(words)
    if m is None:
        raise UnsupportedQuery("question", text, "simple_query answers what colour, shape, pattern or size "
                                                 f"an object of the patch has; {PROGRAM_JOB}")
    noun_phrase(m.group(2))
    return Question(_ATTRIBUTE_WORD[m.group(1)], m.group(2))


def answer_question(text: str, find: Callable[[str], Sequence[Found]],
                    attribute: Callable[[Sequence[Found], str], str]) -> str:
    """A backend's ``simple_query`` answer, given how it finds a phrase's objects and reads
    an attribute of the largest of the objects found: that attribute, or "none" when the
    patch holds no such object."""
    asked = question(text)
    found = find(asked.phrase)
    return attribute(found, asked.attribute) if found else "none"


class Phrase(Protocol):
    """A parsed noun phrase or property, as the annotations answer it."""

    def matches(self, obj: SceneObject) -> bool:
        """Whether the annotated object is what the phrase describes."""
        ...

    def agreement(self, obj: SceneObject) -> int:
        """How much of the phrase the object bears out (``best_text_match``'s score)."""
        ...


class Grammar(Protocol):
    """How one world's words are read: phrases, properties and questions, and the
    annotated answer to a question about one object."""

    def phrase(self, text: str) -> Phrase:
        """A noun phrase; UnsupportedQuery outside the grammar."""
        ...

    def property(self, text: str) -> Phrase:
        """A property (attribute words only); UnsupportedQuery outside the grammar."""
        ...

    def question(self, text: str) -> Question:
        """A ``simple_query`` question; UnsupportedQuery outside the grammar."""
        ...

    def answer(self, obj: SceneObject, attribute: str) -> str:
        """The annotated value of ``attribute`` (a ``Question.attribute``) for the object."""
        ...


@dataclass(frozen=True)
class ShapesPhrase:
    """A shapes-world phrase: the attributes it fixes."""

    attrs: Attrs

    def matches(self, obj: SceneObject) -> bool:
        """Whether the object has every attribute the phrase fixes."""
        return matches(obj, self.attrs)

    def agreement(self, obj: SceneObject) -> int:
        """Attributes the phrase gets right minus those it gets wrong (unfixed ones count 0)."""
        fixed = [k for k in ATTRIBUTES if self.attrs.get(k) is not None]
        return sum(1 if getattr(obj, k) == self.attrs[k] else -1 for k in fixed)


class ShapesGrammar:
    """The shapes world's grammar (the functions above) as a :class:`Grammar`."""

    def phrase(self, text: str) -> ShapesPhrase:
        return ShapesPhrase(noun_phrase(text))

    def property(self, text: str) -> ShapesPhrase:
        return ShapesPhrase(property_words(text))

    def question(self, text: str) -> Question:
        return question(text)

    def answer(self, obj: SceneObject, attribute: str) -> str:
        return getattr(obj, attribute)


SHAPES = ShapesGrammar()

