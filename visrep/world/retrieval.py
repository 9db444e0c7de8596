"""Image-text retrieval: a caption of one scene, and hard negatives edited from that scene.

Negatives are the true scene with one edit a careless reader would miss: a mentioned
object's colour or pattern swapped, two mentioned objects' positions swapped, a mentioned
object removed, or one more added of the kind whose number the caption fixes or denies.
Every candidate is checked with caption_holds on the caption's canonical wording (form 0,
language.py), so exactly one candidate fits the caption whatever the edit did; the task's
text is then any form its split allows.

Canonical caption forms (template name: example; meaning):
  single:     "a striped yellow hexagon"            at least one such object
  pair:       "a red star and a blue circle"        two distinct objects, one of each
  relation:   "a red star left of a blue circle"    such a pair in that relation
  count:      "two green triangles"                 exactly that many such objects
  negation:   "a red star and no circles"           at least one of these, none of those
  count_pair: "two stars and a blue circle"         exactly that many, and at least one of those
"""

from __future__ import annotations

import dataclasses
import random
import re

from visrep.world import predicates as P
from visrep.world import references as R
from visrep.world.language import NOVEL, SEEDED, SPLIT_LANGUAGE, UNSEEDED, forms_key, render
from visrep.world.records import COLORS, PATTERNS, SHAPES, SIZES, Box, Scene, SceneObject, Task
from visrep.world.scenes import fits, place_object
from visrep.world.tasks import attrs_of

NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_NUMBER = "|".join(NUMBERS)
_NEGATION = re.compile(r"^an? (.+?) and no (.+)$")
_COUNT_PAIR = re.compile(rf"^({_NUMBER}) (.+?) and an? (.+)$")
_RELATION = re.compile(rf"^an? (.+?) ({P.RELATION_PATTERN}|and) an? (.+)$")
_COUNT = re.compile(rf"^({_NUMBER}) (.+)$")
_SINGLE = re.compile(r"^an? (.+)$")
_SWAPPABLE = {"color": COLORS, "pattern": PATTERNS}
TEMPLATE_ROLES = {"single": SEEDED, "pair": SEEDED, "relation": SEEDED, "count": SEEDED,
                  "negation": UNSEEDED, "count_pair": NOVEL}


def caption_holds(scene: Scene, caption: str) -> bool:
    """Whether a canonical caption is true of the scene (forms in the module docstring)."""
    text, objects = caption.strip().lower().rstrip("."), scene.objects

    def count(phrase: str) -> int:
        return len(P.select(objects, P.parse_phrase(phrase)))

    if m := _NEGATION.match(text):
        return count(m[1]) > 0 and count(m[2]) == 0
    if m := _COUNT_PAIR.match(text):
        return count(m[2]) == NUMBERS.index(m[1]) and count(m[3]) > 0
    if m := _RELATION.match(text):
        firsts, seconds = P.select(objects, P.parse_phrase(m[1])), P.select(objects, P.parse_phrase(m[3]))
        related = P.RELATIONS.get(m[2], lambda a, b: True)  # "and": any two distinct objects
        return any(a is not b and related(a, b) for a in firsts for b in seconds)
    if m := _COUNT.match(text):
        return count(m[2]) == NUMBERS.index(m[1])
    if m := _SINGLE.match(text):
        return count(m[1]) > 0
    raise ValueError(f"cannot parse caption {caption!r}")


@dataclasses.dataclass(frozen=True)
class _Caption:
    template: str
    slots: dict[str, str]  # the words its forms need (language.py)
    mentioned: tuple[SceneObject, ...]  # the objects the caption is about
    attrs: tuple[P.Attrs, ...]  # the phrase that mentions each of them
    reference: str  # the body of a program scoring an image 1.0 if the caption holds, else 0.0
    addable: P.Attrs | None = None  # adding such an object may falsify the caption (a number, a "no")

    @property
    def canonical(self) -> str:
        return render(forms_key("retrieve", self.template), 0, self.slots)


def _phrase(obj: SceneObject, rng: random.Random) -> P.Attrs:
    extra = rng.choice(((), ("pattern",), ("size",)))
    return attrs_of(obj, ("color", "shape", *extra))


def _counted(rng: random.Random, objects: tuple[SceneObject, ...]) -> tuple[P.Attrs, tuple[SceneObject, ...]]:
    """A colour and/or shape of a scene object, and every object that has it."""
    attrs = attrs_of(rng.choice(objects), rng.choice((("shape",), ("color",), ("color", "shape"))))
    return attrs, tuple(P.select(objects, attrs))


def _draft_caption(scene: Scene, rng: random.Random, template: str) -> _Caption | None:
    objects = scene.objects
    if template == "single":
        obj = rng.choice(objects)
        attrs = _phrase(obj, rng)
        phrase = P.describe(attrs)
        return _Caption(template, {"p": phrase}, (obj,), (attrs,), R.caption_single(phrase))
    if template == "count":
        attrs, found = _counted(rng, objects)
        if len(found) >= len(NUMBERS):
            return None
        phrase = P.describe(attrs, plural_noun=len(found) != 1)
        slots = {"n": NUMBERS[len(found)], "ps": phrase}
        return _Caption(template, slots, found, (attrs,) * len(found), R.caption_count(len(found), phrase), attrs)
    if template == "negation":
        obj = rng.choice(objects)
        attrs = _phrase(obj, rng)
        for _ in range(20):
            absent = _partial_absent(rng, objects)
            if absent is not None:
                first, second = P.describe(attrs), P.describe(absent, plural_noun=True)
                return _Caption(template, {"p": first, "qs": second}, (obj,), (attrs,),
                                R.caption_negation(first, second), absent)
        return None
    if len(objects) < 2:
        return None
    if template == "count_pair":
        attrs, found = _counted(rng, objects)
        others = [o for o in objects if o not in found]
        if not others or len(found) >= len(NUMBERS):
            return None
        other = rng.choice(others)
        pa, pb = attrs, _phrase(other, rng)
        first, second = P.describe(pa, plural_noun=len(found) != 1), P.describe(pb)
        slots = {"n": NUMBERS[len(found)], "ps": first, "q": second}
        return _Caption(template, slots, (*found, other), (pa,) * len(found) + (pb,),
                        R.caption_count_pair(len(found), first, second), pa)
    a, b = rng.sample(objects, 2)
    pa, pb = _phrase(a, rng), _phrase(b, rng)
    word = "and" if template == "pair" else rng.choice([r for r, f in P.RELATIONS.items() if f(a, b)])
    first, second = P.describe(pa), P.describe(pb)
    slots = {"p": first, "q": second, **({"rel": word} if template == "relation" else {})}
    return _Caption(template, slots, (a, b), (pa, pb), R.caption_pair(first, word, second))


def _partial_absent(rng: random.Random, objects: tuple[SceneObject, ...]) -> P.Attrs | None:
    """A random colour, shape or both that no object has, or None on this draw."""
    keys = rng.choice((("shape",), ("color",), ("color", "shape")))
    attrs = {k: (rng.choice(COLORS if k == "color" else SHAPES) if k in keys else None) for k in P.ATTRIBUTES}
    return None if P.select(objects, attrs) else attrs


def _moved(obj: SceneObject, center: tuple[float, float]) -> SceneObject:
    x0, y0, x1, y1 = obj.box
    nx, ny = round(center[0] - (x1 - x0) / 2), round(center[1] - (y1 - y0) / 2)
    box: Box = (float(nx), float(ny), float(nx + x1 - x0), float(ny + y1 - y0))
    return dataclasses.replace(obj, box=box)


def _edit(scene: Scene, caption: _Caption, rng: random.Random) -> tuple[SceneObject, ...] | None:
    """The scene's objects after one random hard-negative edit (None: edit not possible)."""
    objects = list(scene.objects)
    kind = rng.choice(("attribute", "attribute", "relation", "remove", "add"))
    target = rng.choice(caption.mentioned)  # never empty: captions describe real objects
    i = objects.index(target)
    if kind == "attribute":
        attrs = caption.attrs[caption.mentioned.index(target)]
        keys = [k for k in _SWAPPABLE if attrs[k] is not None]
        if not keys:
            return None
        key = rng.choice(keys)
        value = rng.choice([v for v in _SWAPPABLE[key] if v != getattr(target, key)])
        objects[i] = dataclasses.replace(target, **{key: value})
    elif kind == "relation" and caption.template == "relation":
        a, b = caption.mentioned
        ia, ib = objects.index(a), objects.index(b)
        objects[ia], objects[ib] = _moved(a, P.center(b)), _moved(b, P.center(a))
        rest = tuple(o for j, o in enumerate(objects) if j not in (ia, ib))
        if not (fits(objects[ia].box, scene.width, rest)
                and fits(objects[ib].box, scene.width, rest + (objects[ia],))):
            return None
    elif kind == "remove" and len(objects) > 1:
        del objects[i]
    elif kind == "add" and caption.addable is not None:
        values = {k: caption.addable[k] or rng.choice(v) for k, v in
                  (("shape", SHAPES), ("color", COLORS), ("size", SIZES), ("pattern", PATTERNS))}
        added = place_object(rng, others=tuple(objects), image_size=scene.width, **values)
        if added is None:
            return None
        objects.append(added)
    else:
        return None
    return tuple(objects)


def _negatives(
    scene: Scene, caption: _Caption, rng: random.Random, wanted: int,
) -> list[tuple[SceneObject, ...]] | None:
    """``wanted`` distinct edited object lists of which the caption is false, or None."""
    found: list[tuple[SceneObject, ...]] = []
    for _ in range(20 * wanted):
        edited = _edit(scene, caption, rng)
        if edited is None or edited in found:
            continue
        if not caption_holds(dataclasses.replace(scene, objects=edited), caption.canonical):
            found.append(edited)
            if len(found) == wanted:
                return found
    return None


def make_retrieve(
    scene: Scene, rng: random.Random, task_id: str, split: str, negative_ids: list[str],
) -> tuple[Task, list[Scene]] | None:
    """A caption of ``scene`` and its candidates: the scene plus one negative per id.

    Returns the task and the negative scenes (to render), or None when no caption of the
    split's families admitted enough distinct negatives.
    """
    language = SPLIT_LANGUAGE[split]
    templates = [t for t, role in TEMPLATE_ROLES.items() if role in language.roles]
    for template in rng.sample(templates, len(templates)) * 3:
        caption = _draft_caption(scene, rng, template)
        if caption is None:
            continue
        if not caption_holds(scene, caption.canonical):
            raise AssertionError(f"caption {caption.canonical!r} false of its own scene")  # a bug
        found = _negatives(scene, caption, rng, len(negative_ids))
        if found is None:
            continue
        negatives = [dataclasses.replace(scene, image_id=n, objects=o) for n, o in zip(negative_ids, found)]
        candidates = [scene, *negatives]
        rng.shuffle(candidates)
        index = candidates.index(scene)
        images = tuple(c.image_id for c in candidates)
        text = render(forms_key("retrieve", template), rng.choice(language.forms), caption.slots, language.synonyms)
        meta = {"template": template, "reference": caption.reference}
        return Task(task_id, "retrieve", text, images, {"index": index}, split, meta), negatives
    return None
