"""Detection and VQA task generators: choose the objects first, then the words for them.

(Retrieval, which also edits scenes into hard negatives, lives in retrieval.py.)

Each generator tries its templates in random order and keeps the first one the scene
supports; every "the ..." phrase is checked unique through predicates.refer, so a phrase
never names an object other than the one whose box or attribute is the answer.  Each
template also writes the task's reference program (references.py) from the same choices,
drawing no random number for it, so the world's images and texts do not depend on it.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

from visrep.world import predicates as P
from visrep.world import references as R
from visrep.world.records import COLORS, PATTERNS, SHAPES, SIZES, Scene, SceneObject, Task

# (template, text, payload, reference): payload is the vqa annotation, or {"objects": [...]}
# for detect; reference is the body of a program computing the answer (references.py)
Draft = tuple[str, str, dict, str]
_VALUES = {"size": SIZES, "pattern": PATTERNS, "color": COLORS, "shape": SHAPES}


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


def _detect_unique(scene: Scene, rng: random.Random) -> Draft | None:
    obj = rng.choice(scene.objects)
    phrase = unique_phrase(scene, obj, rng)
    return phrase and ("unique", f"the {phrase}", {"objects": [obj]}, R.the_object(phrase))


def _detect_relation(scene: Scene, rng: random.Random) -> Draft | None:
    target, anchor = _pair(scene, rng)
    relation = rng.choice([r for r, holds in P.RELATIONS.items() if holds(target, anchor)])
    anchor_phrase = unique_phrase(scene, anchor, rng)
    if anchor_phrase is None:
        return None
    suffix = f"{relation} the {anchor_phrase}"
    phrase = unique_phrase(scene, target, rng, suffix=suffix)
    if phrase is None:
        return None
    reference = R.related_object(phrase, relation, anchor_phrase)
    return "relation", f"the {phrase} {suffix}", {"objects": [target]}, reference


def _detect_all(scene: Scene, rng: random.Random) -> Draft:
    attrs = _partial(rng, scene, real=True)
    phrase = P.describe(attrs, plural_noun=True)
    return "all", f"all {phrase}", {"objects": P.select(scene.objects, attrs)}, R.all_objects(phrase)


# ---------------------------------------------------------------- vqa

_QUERY_TEXT = {
    "color": "What color is the {}?", "shape": "What shape is the {}?",
    "pattern": "What pattern does the {} have?", "size": "What size is the {}?",
}


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _vqa_exist(scene: Scene, rng: random.Random) -> Draft:
    attrs = _partial(rng, scene, real=rng.random() < 0.5)
    phrase = P.describe(attrs)
    text = f"Is there {P.with_article(phrase)}?"
    return "exist", text, {"answer": _yes(bool(P.select(scene.objects, attrs)))}, R.exists(phrase)


def _vqa_count(scene: Scene, rng: random.Random) -> Draft:
    attrs = _partial(rng, scene, real=rng.random() < 0.8)
    phrase = P.describe(attrs, plural_noun=True)
    text = f"How many {phrase} are there?"
    return "count", text, {"answer": str(len(P.select(scene.objects, attrs)))}, R.count(phrase)


def _vqa_query(scene: Scene, rng: random.Random) -> Draft | None:
    attr = rng.choice(list(_QUERY_TEXT))
    obj = rng.choice(scene.objects)
    phrase = unique_phrase(scene, obj, rng, exclude=attr)
    return phrase and (f"query_{attr}", _QUERY_TEXT[attr].format(phrase), {"answer": getattr(obj, attr)},
                       R.query(attr, phrase))


def _vqa_compare(scene: Scene, rng: random.Random) -> Draft | None:
    attr = rng.choice(("size", "color", "shape", "pattern"))
    a, b = _pair(scene, rng)
    pa, pb = unique_phrase(scene, a, rng, exclude=attr), unique_phrase(scene, b, rng, exclude=attr)
    if pa is None or pb is None:
        return None
    if attr == "size":
        larger = a.size == "large" and b.size == "small"
        return "compare_size", f"Is the {pa} larger than the {pb}?", {"answer": _yes(larger)}, R.larger(pa, pb)
    same = getattr(a, attr) == getattr(b, attr)
    text = f"Do the {pa} and the {pb} have the same {attr}?"
    return f"compare_{attr}", text, {"answer": _yes(same)}, R.same(attr, pa, pb)


def _vqa_relate_query(scene: Scene, rng: random.Random) -> Draft | None:
    target, anchor = _pair(scene, rng)
    relation = rng.choice([r for r, holds in P.RELATIONS.items() if holds(target, anchor)])
    attr = rng.choice(("color", "shape"))
    anchor_phrase = unique_phrase(scene, anchor, rng)
    if anchor_phrase is None:
        return None
    suffix = f"{relation} the {anchor_phrase}"
    phrase = unique_phrase(scene, target, rng, exclude=attr, suffix=suffix)
    if phrase is None:
        return None
    return ("relate_query", _QUERY_TEXT[attr].format(f"{phrase} {suffix}"), {"answer": getattr(target, attr)},
            R.related_query(attr, phrase, relation, anchor_phrase))


def _vqa_relate_verify(scene: Scene, rng: random.Random) -> Draft | None:
    a, b = _pair(scene, rng)
    relation = rng.choice(list(P.RELATIONS))
    pa, pb = unique_phrase(scene, a, rng), unique_phrase(scene, b, rng)
    if pa is None or pb is None:
        return None
    answer = _yes(P.RELATIONS[relation](a, b))
    return "relate_verify", f"Is the {pa} {relation} the {pb}?", {"answer": answer}, R.relation_holds(pa, relation, pb)


def _vqa_logic(scene: Scene, rng: random.Random) -> Draft:
    first, second = (_partial(rng, scene, real=rng.random() < 0.6) for _ in range(2))
    op = rng.choice(("and", "or"))
    found = [bool(P.select(scene.objects, a)) for a in (first, second)]
    answer = all(found) if op == "and" else any(found)
    a, b = (P.describe(x) for x in (first, second))
    text = f"Is there {P.with_article(a)} {op} {P.with_article(b)}?"
    return f"logic_{op}", text, {"answer": _yes(answer)}, R.logic(op, a, b)


Generator = Callable[[Scene, random.Random], Draft | None]
DETECT_TEMPLATES: tuple[Generator, ...] = (_detect_unique, _detect_relation, _detect_all)
VQA_TEMPLATES: tuple[Generator, ...] = (
    _vqa_exist, _vqa_count, _vqa_query, _vqa_compare, _vqa_relate_query, _vqa_relate_verify,
    _vqa_logic,
)
_NEED_TWO = frozenset({
    _detect_relation, _vqa_compare, _vqa_relate_query, _vqa_relate_verify,
})


def _first_draft(scene: Scene, rng: random.Random, templates: tuple[Generator, ...]) -> Draft:
    """Templates in random order (with retries, since a template may fail on one draw)."""
    order = [t for _ in range(4) for t in rng.sample(templates, len(templates))]
    for template in order:
        if len(scene.objects) < 2 and template in _NEED_TWO:
            continue
        draft = template(scene, rng)
        if draft:
            return draft
    raise ValueError(f"no template fits scene {scene.image_id}")  # _detect_all/_vqa_exist always fit


def make_detect(scene: Scene, rng: random.Random, task_id: str, split: str) -> Task:
    """A grounding task: a referring phrase → the boxes of every object it names."""
    template, text, found, reference = _first_draft(scene, rng, DETECT_TEMPLATES)
    boxes = [list(o.box) for o in found["objects"]]
    meta = {"template": template, "reference": reference}
    return Task(task_id, "detect", text, (scene.image_id,), {"boxes": boxes}, split, meta)


def make_vqa(scene: Scene, rng: random.Random, task_id: str, split: str) -> Task:
    """A GQA-style question with a one-word lowercase answer."""
    template, text, annotation, reference = _first_draft(scene, rng, VQA_TEMPLATES)
    meta = {"template": template, "reference": reference}
    return Task(task_id, "vqa", text, (scene.image_id,), annotation, split, meta)
