"""What a phrase means, written once: phrase parsing, attribute matching, spatial relations.

The task generators, the tests and the oracle visual backend all decide "which objects
does 'the small red star' mean" through this module, so a phrase can never mean one thing
to the generator that wrote the answer and another to the backend that is graded on it.

Grammar of a noun phrase: ``[determiner] [size] [pattern] [colour] noun`` where the noun
is a shape (singular or plural) or one of object(s)/shape(s)/thing(s), which leave the
shape open.  Words may come in any order; each attribute at most once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from visrep.world.records import COLORS, PATTERNS, SHAPES, SIZES, SceneObject

Attrs = dict[str, str | None]
# The order attribute words take when a phrase is written ("the small striped red star").
ATTRIBUTES: tuple[str, ...] = ("size", "pattern", "color", "shape")
DETERMINERS = frozenset({"the", "a", "an", "all", "any"})
OPEN_NOUNS = frozenset({"object", "objects", "shape", "shapes", "thing", "things"})
_SYNONYMS = {"big": "large", "little": "small", "grey": "gray", "violet": "purple", "colour": "color"}


def plural(shape: str | None) -> str:
    """The plural noun for a shape, or "objects" when the shape is left open."""
    if shape is None:
        return "objects"
    return shape + ("es" if shape.endswith("s") else "s")


_VOCAB: dict[str, tuple[str, str]] = {
    **{w: ("size", w) for w in SIZES},
    **{w: ("pattern", w) for w in PATTERNS},
    **{w: ("color", w) for w in COLORS},
    **{w: ("shape", w) for w in SHAPES},
    **{plural(w): ("shape", w) for w in SHAPES},
}


def parse_phrase(text: str) -> Attrs:
    """Parse a noun phrase into ``{size, pattern, color, shape}`` (None = any).

    Raises ValueError naming the word when the phrase has a word outside the world's
    vocabulary, or gives one attribute two values, so a typo never silently widens a match.
    """
    attrs: Attrs = dict.fromkeys(ATTRIBUTES)
    for raw in re.findall(r"[a-z]+", text.lower()):
        word = _SYNONYMS.get(raw, raw)
        if word in DETERMINERS or word in OPEN_NOUNS:
            continue
        if word not in _VOCAB:
            raise ValueError(f"unknown word {raw!r} in phrase {text!r}")
        key, value = _VOCAB[word]
        if attrs[key] not in (None, value):
            raise ValueError(f"phrase {text!r} gives {key} twice ({attrs[key]}, {value})")
        attrs[key] = value
    return attrs


def describe(attrs: Attrs, plural_noun: bool = False) -> str:
    """Write attributes as a phrase without determiner; the inverse of parse_phrase."""
    words = [attrs[k] for k in ATTRIBUTES[:-1] if attrs.get(k)]
    shape = attrs.get("shape")
    noun = plural(shape) if plural_noun else (shape or "object")
    return " ".join([*words, noun])


def with_article(phrase: str) -> str:
    """Prefix "a" or "an" as English wants ("an orange star")."""
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def matches(obj: SceneObject, attrs: Attrs) -> bool:
    """Whether the object has every attribute the phrase fixes."""
    return all(v is None or getattr(obj, k) == v for k, v in attrs.items())


def select(objects: Iterable[SceneObject], attrs: Attrs) -> list[SceneObject]:
    """The objects a phrase's attributes match, in scene order."""
    return [o for o in objects if matches(o, attrs)]


def center(obj: SceneObject) -> tuple[float, float]:
    """The box centre, the point all spatial relations compare."""
    x0, y0, x1, y1 = obj.box
    return (x0 + x1) / 2, (y0 + y1) / 2


def left_of(a: SceneObject, b: SceneObject) -> bool:
    """a's box centre is left of b's (smaller x)."""
    return center(a)[0] < center(b)[0]


def right_of(a: SceneObject, b: SceneObject) -> bool:
    """a's box centre is right of b's."""
    return left_of(b, a)


def above(a: SceneObject, b: SceneObject) -> bool:
    """a's box centre is above b's (smaller y; y grows downwards)."""
    return center(a)[1] < center(b)[1]


def below(a: SceneObject, b: SceneObject) -> bool:
    """a's box centre is below b's."""
    return above(b, a)


RELATIONS: dict[str, Callable[[SceneObject, SceneObject], bool]] = {
    "left of": left_of, "right of": right_of, "above": above, "below": below,
}
RELATION_PATTERN = "|".join(RELATIONS)
_REFER = re.compile(
    rf"^(?:(the|all|an?)\s+)?(.+?)(?:\s+({RELATION_PATTERN})\s+(?:the\s+)?(.+))?$"
)


def refer(objects: Iterable[SceneObject], text: str) -> list[SceneObject]:
    """The objects a referring expression means, in scene order.

    Forms: "[the|all] PHRASE" and "[the|all] PHRASE RELATION the PHRASE", RELATION one of
    left of / right of / above / below.  The related-to object must be unique (a "the"
    that names several objects names none), and an object never relates to itself.
    Whether a "the ..." expression is unique is the caller's question: len(result) == 1.
    """
    objects = list(objects)
    m = _REFER.match(text.strip().lower().rstrip("?."))
    if m is None:
        raise ValueError(f"cannot parse referring expression {text!r}")
    _, head, relation, anchor_text = m.groups()
    found = select(objects, parse_phrase(head))
    if relation is None:
        return found
    anchors = select(objects, parse_phrase(anchor_text))
    if len(anchors) != 1:
        return []
    anchor = anchors[0]
    return [o for o in found if o is not anchor and RELATIONS[relation](o, anchor)]
