"""Detection and VQA task generators: choose the meaning first, then the words for it.

(Retrieval, which also edits scenes into hard negatives, lives in retrieval.py.)

Each template (a task *family*) draws its objects and writes a ``Draft``: the slots its
wording needs, the answer, and the reference program (references.py), drawing no random
number for the reference, so the world's images and texts do not depend on it.  Every
"the ..." phrase is checked unique through ``predicates.refer`` (in the family's canonical
wording, form 0), so a phrase never names an object other than the one whose box or
attribute is the answer.  The task's split picks which families and which of their wordings it may use
(language.py), and ``make_detect``/``make_vqa`` render the text.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass

from visrep.world import predicates as P
from visrep.world import references as R
from visrep.world.language import NOVEL, SEEDED, SPLIT_LANGUAGE, UNSEEDED, forms_key, render
from visrep.world.records import COLORS, PATTERNS, SHAPES, SIZES, Scene, SceneObject, Task


@dataclass(frozen=True)
class Draft:
    """A task's meaning: its family, the words its forms need, its answer, its reference."""

    template: str
    slots: dict[str, str]
    payload: dict  # the vqa annotation, or {"objects": [...]} for detect
    reference: str  # the body of a program computing the answer (references.py)


_VALUES = {"size": SIZES, "pattern": PATTERNS, "color": COLORS, "shape": SHAPES}
# The box-centre coordinate and end ([0] least, [-1] most) that each side's extreme object has.
SIDES = {"left": ("horizontal", 0), "right": ("horizontal", -1), "top": ("vertical", 0), "bottom": ("vertical", -1)}


def attrs_of(obj: SceneObject, keys: tuple[str, ...]) -> P.Attrs:
    """The object's values for ``keys``, None elsewhere: a phrase describing it partly."""
    return {k: (getattr(obj, k) if k in keys else None) for k in P.ATTRIBUTES}


def _subsets(rng: random.Random, exclude: str | None) -> list[tuple[str, ...]]:
    """Attribute subsets, shortest first, in random order within a length."""
    keys = [k for k in P.ATTRIBUTES if k != exclude]
    out = []
    for n in range(len(keys) + 1):
        group = list(itertools.combinations(keys, n))
        rng.shuffle(group)
        out += group
    return out


def unique_phrase(
    scene: Scene, obj: SceneObject, rng: random.Random, exclude: str | None = None,
    suffix: str = "",
) -> str | None:
    """A shortest phrase (without "the") that, followed by ``suffix``, names only ``obj``;
    None if there is none.

    ``exclude`` keeps one attribute out (a question about colour must not say it);
    ``suffix`` is a relation tail ("left of the blue star") the phrase may lean on; it is
    not part of the phrase returned, so a program can find the phrase's objects.
    """
    for keys in _subsets(rng, exclude):
        if not keys and not suffix:
            continue
        phrase = P.describe(attrs_of(obj, keys))
        if P.refer(scene.objects, " ".join(filter(None, ["the", phrase, suffix]))) == [obj]:
            return phrase
    return None


def _partial(rng: random.Random, scene: Scene, real: bool) -> P.Attrs:
    """One or two attributes, copied from a scene object (real) or drawn at random."""
    keys = tuple(rng.sample(P.ATTRIBUTES, rng.choice((1, 2))))
    if real:
        return attrs_of(rng.choice(scene.objects), keys)
    return {k: (rng.choice(_VALUES[k]) if k in keys else None) for k in P.ATTRIBUTES}


def _pair(scene: Scene, rng: random.Random) -> tuple[SceneObject, SceneObject]:
    a, b = rng.sample(scene.objects, 2)
    return a, b


# ---------------------------------------------------------------- detect


def _relation_to(scene: Scene, rng: random.Random, target: SceneObject,
                 anchor: SceneObject) -> tuple[str, str] | None:
    """A relation the target has to the anchor, and a phrase naming only the anchor."""
    relations = [r for r, holds in P.RELATIONS.items() if holds(target, anchor)]
    anchor_phrase = unique_phrase(scene, anchor, rng)
    if not relations or anchor_phrase is None:
        return None
    return rng.choice(relations), anchor_phrase


def _noun_slots(attrs: P.Attrs) -> dict[str, str]:
    """The phrase of ``attrs`` in the singular ("p") and the plural ("ps"), as forms use them."""
    return {"p": P.describe(attrs), "ps": P.describe(attrs, plural_noun=True)}


def _related_objects(scene: Scene, rng: random.Random, target: SceneObject, anchor: SceneObject,
                     relation: str) -> tuple[P.Attrs, list[SceneObject]]:
    """A description of the target (no attribute, or one) and every object it names that is
    in ``relation`` to the anchor (never the anchor itself)."""
    attrs = attrs_of(target, rng.choice(((), *((k,) for k in P.ATTRIBUTES))))
    return attrs, [o for o in P.select(scene.objects, attrs) if o is not anchor and P.RELATIONS[relation](o, anchor)]


def _detect_unique(scene: Scene, rng: random.Random) -> Draft | None:
    obj = rng.choice(scene.objects)
    phrase = unique_phrase(scene, obj, rng)
    return phrase and Draft("unique", {"p": phrase}, {"objects": [obj]}, R.the_object(phrase))


def _detect_relation(scene: Scene, rng: random.Random) -> Draft | None:
    target, anchor = _pair(scene, rng)
    related = _relation_to(scene, rng, target, anchor)
    if related is None:
        return None
    relation, anchor_phrase = related
    phrase = unique_phrase(scene, target, rng, suffix=f"{relation} the {anchor_phrase}")
    if phrase is None:
        return None
    return Draft("relation", {"p": phrase, "rel": relation, "q": anchor_phrase}, {"objects": [target]},
                 R.related_object(phrase, relation, anchor_phrase))


def _detect_all(scene: Scene, rng: random.Random) -> Draft:
    attrs = _partial(rng, scene, real=True)
    slots = _noun_slots(attrs)
    return Draft("all", slots, {"objects": P.select(scene.objects, attrs)}, R.all_objects(slots["ps"]))


def _coordinate(obj: SceneObject, axis: str) -> float:
    """The object's box centre along "horizontal" (x) or "vertical" (y)."""
    return P.center(obj)[0 if axis == "horizontal" else 1]


def _detect_extreme(scene: Scene, rng: random.Random) -> Draft | None:
    """"the PHRASE furthest to the SIDE": among at least two objects the phrase names, the
    one whose box centre is strictly furthest that way (a superlative: the program sorts)."""
    side = rng.choice(list(SIDES))
    axis, end = SIDES[side]
    for keys in _subsets(rng, None)[:5]:  # no attribute, or one
        attrs = attrs_of(rng.choice(scene.objects), keys)
        found = sorted(P.select(scene.objects, attrs), key=lambda o: _coordinate(o, axis))
        ends = [_coordinate(o, axis) for o in found]
        if len(found) >= 2 and ends.count(ends[end]) == 1:
            slots = {**_noun_slots(attrs), "side": side}
            return Draft("extreme", slots, {"objects": [found[end]]}, R.extreme(slots["p"], axis, end))
    return None


def _detect_all_relation(scene: Scene, rng: random.Random) -> Draft | None:
    """"all PHRASES RELATION the ANCHOR" (all x relation, held out as a composition)."""
    target, anchor = _pair(scene, rng)
    related = _relation_to(scene, rng, target, anchor)
    if related is None:
        return None
    relation, anchor_phrase = related
    attrs, found = _related_objects(scene, rng, target, anchor, relation)
    slots = {**_noun_slots(attrs), "rel": relation, "q": anchor_phrase}
    return Draft("all_relation", slots, {"objects": found}, R.all_related(slots["ps"], relation, anchor_phrase))


# ---------------------------------------------------------------- vqa


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _vqa_exist(scene: Scene, rng: random.Random) -> Draft:
    attrs = _partial(rng, scene, real=rng.random() < 0.5)
    phrase = P.describe(attrs)
    return Draft("exist", {"p": phrase}, {"answer": _yes(bool(P.select(scene.objects, attrs)))}, R.exists(phrase))


def _vqa_count(scene: Scene, rng: random.Random) -> Draft:
    attrs = _partial(rng, scene, real=rng.random() < 0.8)
    phrase = P.describe(attrs, plural_noun=True)
    return Draft("count", {"ps": phrase}, {"answer": str(len(P.select(scene.objects, attrs)))}, R.count(phrase))


def _vqa_query(scene: Scene, rng: random.Random) -> Draft | None:
    attr = rng.choice(("color", "shape", "pattern", "size"))
    obj = rng.choice(scene.objects)
    phrase = unique_phrase(scene, obj, rng, exclude=attr)
    return phrase and Draft(f"query_{attr}", {"attr": attr, "p": phrase}, {"answer": getattr(obj, attr)},
                            R.query(attr, phrase))


def _vqa_compare(scene: Scene, rng: random.Random) -> Draft | None:
    attr = rng.choice(("size", "color", "shape", "pattern"))
    a, b = _pair(scene, rng)
    pa, pb = unique_phrase(scene, a, rng, exclude=attr), unique_phrase(scene, b, rng, exclude=attr)
    if pa is None or pb is None:
        return None
    slots = {"attr": attr, "p": pa, "q": pb}
    if attr == "size":
        larger = a.size == "large" and b.size == "small"
        return Draft("compare_size", slots, {"answer": _yes(larger)}, R.larger(pa, pb))
    same = getattr(a, attr) == getattr(b, attr)
    return Draft(f"compare_{attr}", slots, {"answer": _yes(same)}, R.same(attr, pa, pb))


def _vqa_relate_query(scene: Scene, rng: random.Random) -> Draft | None:
    target, anchor = _pair(scene, rng)
    related = _relation_to(scene, rng, target, anchor)
    if related is None:
        return None
    relation, anchor_phrase = related
    attr = rng.choice(("color", "shape"))
    phrase = unique_phrase(scene, target, rng, exclude=attr, suffix=f"{relation} the {anchor_phrase}")
    if phrase is None:
        return None
    return Draft("relate_query", {"attr": attr, "p": phrase, "rel": relation, "q": anchor_phrase},
                 {"answer": getattr(target, attr)}, R.related_query(attr, phrase, relation, anchor_phrase))


def _vqa_relate_verify(scene: Scene, rng: random.Random) -> Draft | None:
    a, b = _pair(scene, rng)
    relation = rng.choice(list(P.RELATIONS))
    pa, pb = unique_phrase(scene, a, rng), unique_phrase(scene, b, rng)
    if pa is None or pb is None:
        return None
    answer = _yes(P.RELATIONS[relation](a, b))
    return Draft("relate_verify", {"p": pa, "rel": relation, "q": pb}, {"answer": answer},
                 R.relation_holds(pa, relation, pb))


def _two_partials(scene: Scene, rng: random.Random) -> tuple[P.Attrs, P.Attrs] | None:
    """Two different partial descriptions (each of a scene object, or drawn at random)."""
    first, second = (_partial(rng, scene, real=rng.random() < 0.6) for _ in range(2))
    return None if P.describe(first) == P.describe(second) else (first, second)


def _vqa_logic(scene: Scene, rng: random.Random) -> Draft | None:
    pair = _two_partials(scene, rng)
    if pair is None:
        return None
    op = rng.choice(("and", "or"))
    found = [bool(P.select(scene.objects, a)) for a in pair]
    answer = all(found) if op == "and" else any(found)
    a, b = (P.describe(x) for x in pair)
    return Draft(f"logic_{op}", {"p": a, "q": b}, {"answer": _yes(answer)}, R.logic(op, a, b))


def _vqa_more(scene: Scene, rng: random.Random) -> Draft | None:
    """"Are there more PHRASES than OTHERS?" (a comparative of two counts)."""
    pair = _two_partials(scene, rng)
    if pair is None:
        return None
    counts = [len(P.select(scene.objects, a)) for a in pair]
    ps, qs = (P.describe(a, plural_noun=True) for a in pair)
    return Draft("more", {"ps": ps, "qs": qs}, {"answer": _yes(counts[0] > counts[1])}, R.more(ps, qs))


def _vqa_count_relation(scene: Scene, rng: random.Random) -> Draft | None:
    """"How many PHRASES are RELATION the ANCHOR?" (count x relation, held out as a composition)."""
    target, anchor = _pair(scene, rng)
    relation = rng.choice(list(P.RELATIONS))
    anchor_phrase = unique_phrase(scene, anchor, rng)
    if anchor_phrase is None:
        return None
    attrs, found = _related_objects(scene, rng, target, anchor, relation)
    ps = P.describe(attrs, plural_noun=True)
    return Draft("count_relation", {"ps": ps, "rel": relation, "q": anchor_phrase}, {"answer": str(len(found))},
                 R.count_related(ps, relation, anchor_phrase))


Generator = Callable[[Scene, random.Random], Draft | None]
# Each kind's families (by generator) and their role (language.py): which splits use them.
DETECT_TEMPLATES: tuple[tuple[Generator, str], ...] = (
    (_detect_unique, SEEDED), (_detect_relation, SEEDED), (_detect_all, SEEDED),
    (_detect_extreme, UNSEEDED), (_detect_all_relation, NOVEL),
)
VQA_TEMPLATES: tuple[tuple[Generator, str], ...] = (
    (_vqa_exist, SEEDED), (_vqa_count, SEEDED), (_vqa_query, SEEDED), (_vqa_compare, SEEDED),
    (_vqa_relate_query, SEEDED), (_vqa_relate_verify, SEEDED), (_vqa_logic, SEEDED),
    (_vqa_more, UNSEEDED), (_vqa_count_relation, NOVEL),
)


def first_draft(scene: Scene, rng: random.Random, templates: tuple[tuple[Generator, str], ...],
                split: str) -> Draft | None:
    """A draft of the split's families, tried in random order (with retries, since a
    template may fail on one draw); None when none fits the scene."""
    allowed = [g for g, role in templates if role in SPLIT_LANGUAGE[split].roles]
    if len(scene.objects) < 2:
        allowed = [g for g in allowed if g in (_detect_all, _vqa_exist, _vqa_count, _vqa_logic, _vqa_more)]
    for template in [g for _ in range(4) for g in rng.sample(allowed, len(allowed))]:
        draft = template(scene, rng)
        if draft:
            return draft
    return None


def worded(kind: str, draft: Draft, split: str, rng: random.Random) -> str:
    """The draft's text in one of the forms its split allows."""
    language = SPLIT_LANGUAGE[split]
    return render(forms_key(kind, draft.template), rng.choice(language.forms), draft.slots, language.synonyms)


def make_detect(scene: Scene, rng: random.Random, task_id: str, split: str) -> Task | None:
    """A grounding task: a referring phrase → the boxes of every object it names."""
    draft = first_draft(scene, rng, DETECT_TEMPLATES, split)
    if draft is None:
        return None
    boxes = [list(o.box) for o in draft.payload["objects"]]
    meta = {"template": draft.template, "reference": draft.reference}
    return Task(task_id, "detect", worded("detect", draft, split, rng), (scene.image_id,), {"boxes": boxes},
                split, meta)


def make_vqa(scene: Scene, rng: random.Random, task_id: str, split: str) -> Task | None:
    """A GQA-style question with a one-word lowercase answer."""
    draft = first_draft(scene, rng, VQA_TEMPLATES, split)
    if draft is None:
        return None
    meta = {"template": draft.template, "reference": draft.reference}
    return Task(task_id, "vqa", worded("vqa", draft, split, rng), (scene.image_id,), draft.payload, split, meta)
