"""What the tools' text means: noun phrases, and the questions ``simple_query`` answers.

Every backend reads a phrase and a question the same way (the oracle from annotations,
the student from pixels), so two backends can disagree about an image, never about what
was asked.  Phrases mean what ``visrep.world.predicates`` says (the parser the task
generators used); a phrase with a word outside the world's vocabulary parses to None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from visrep.world.predicates import Attrs, parse_phrase

_ATTRIBUTE = re.compile(
    r"^what (?:is the |are the )?(colou?r|shape|pattern|size)s?(?: of| is| are)? (.+)$"
)
_COUNT = re.compile(r"^how many (.+?)(?: are there| are in the image| do you see)?$")
_EXISTS = re.compile(r"^(?:is|are) there (.+?)(?: in the image)?$")
_ATTRIBUTE_WORD = {"color": "color", "colour": "color", "shape": "shape",
                   "pattern": "pattern", "size": "size"}

Found = TypeVar("Found")


@dataclass(frozen=True)
class Question:
    """A ``simple_query`` question: what it asks (``form``) about which noun ``phrase``;
    ``attribute`` (color, shape, pattern or size) for the "attribute" form."""

    form: Literal["attribute", "count", "exists"]
    phrase: str
    attribute: str = ""


def parse_noun_phrase(text: str) -> Attrs | None:
    """The attributes a noun phrase fixes, or None for a phrase outside the vocabulary."""
    try:
        return parse_phrase(text)
    except ValueError:
        return None


def parse_question(question: str) -> Question | None:
    """"what colour/shape/pattern/size is X", "how many X", "is there X"; None otherwise.

    Case and punctuation are ignored ("What color is the star?" reads "what color is the star").
    """
    text = " ".join(re.findall(r"[a-z]+", question.lower()))
    if m := _ATTRIBUTE.match(text):
        return Question("attribute", m.group(2), _ATTRIBUTE_WORD[m.group(1)])
    if m := _COUNT.match(text):
        return Question("count", m.group(1))
    if m := _EXISTS.match(text):
        return Question("exists", m.group(1))
    return None


def answer_question(question: str, find: Callable[[str], Sequence[Found]],
                    attribute: Callable[[Sequence[Found], str], str]) -> str:
    """A backend's ``simple_query`` answer, given how it finds a phrase's objects and reads
    an attribute of the largest of the objects found.

    "how many X": the number found; "is there X": "yes" or "no"; an attribute of X: that of
    the largest X, "none" when there is no X; any other question: "unknown".
    """
    parsed = parse_question(question)
    if parsed is None:
        return "unknown"
    found = find(parsed.phrase)
    if parsed.form == "count":
        return str(len(found))
    if parsed.form == "exists":
        return "yes" if found else "no"
    return attribute(found, parsed.attribute) if found else "none"
