"""Generated answers are checked against the scene through the predicates, from the text.

The checkers here parse each task's words, not the generator's choices: a task's text is
matched against its family's forms (language.py) to recover the slots, re-worded in the
canonical form, and answered from those words alone, so a phrase that names a different
object than the one whose box/attribute was stored fails the test, and so does a text in
a form its split may not use.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from visrep.world import load_scenes, load_tasks
from visrep.world import predicates as P
from visrep.world.language import (
    FORMS,
    FORMS_PER_FAMILY,
    HELDOUT_FORMS,
    PHRASE_SLOTS,
    SPLIT_LANGUAGE,
    SYNONYMS,
    forms_key,
    render,
)
from visrep.world.records import COLORS, HELDOUT_SPLITS, PATTERNS, SHAPES, SIZES, Scene, SceneObject, Task
from visrep.world.references import RELATION_TESTS
from visrep.world.retrieval import NUMBERS, TEMPLATE_ROLES, caption_holds, make_retrieve
from visrep.world.scenes import generate_scene
from visrep.world.tasks import DETECT_TEMPLATES, VQA_TEMPLATES, make_detect, make_vqa

ANSWERS = {"yes", "no", *map(str, range(10)), *COLORS, *SHAPES, *PATTERNS, *SIZES}
SPLITS = ("train", *HELDOUT_SPLITS)
# What each slot may hold, so a text parses one way.
_SLOT = {"rel": P.RELATION_PATTERN, "side": "left|right|top|bottom", "attr": "color|shape|pattern|size",
         "n": "|".join(NUMBERS)}


def the(scene: Scene, phrase: str):
    found = P.refer(scene.objects, "the " + phrase)
    assert len(found) == 1, f"'the {phrase}' names {len(found)} objects"
    return found[0]


def some(scene: Scene, phrase: str) -> bool:
    return bool(P.select(scene.objects, P.parse_phrase(phrase)))


def number(scene: Scene, phrase: str) -> int:
    return len(P.select(scene.objects, P.parse_phrase(phrase)))


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def form_pattern(form: str) -> re.Pattern[str]:
    """A form as a regex capturing its slots ("{a_p}" captures p after its article)."""
    out, seen = "", set()
    for literal, name, _, _ in __import__("string").Formatter().parse(form):
        out += re.escape(literal)
        if name is None:
            continue
        slot, article = (name[2:], "an? ") if name.startswith("a_") else (name, "")
        group = f"(?P={slot})" if slot in seen else f"(?P<{slot}>{_SLOT.get(slot, '[a-z ]+?')})"
        out += article + group
        seen.add(slot)
    return re.compile(out + "$")


def _phrases(match: re.Match[str]) -> list[str]:
    return [v for k, v in match.groupdict().items() if k in PHRASE_SLOTS]


def _is_phrase(text: str) -> bool:
    try:
        P.parse_phrase(text)
    except ValueError:
        return False
    return True


def canonical(task: Task) -> str:
    """The task's text re-worded in its family's canonical form; the form it used must be
    one its split allows."""
    key = forms_key(task.kind, task.meta["template"])
    matched = [(n, m) for n, form in enumerate(FORMS[key])
               if (m := form_pattern(form).match(task.text)) and all(map(_is_phrase, _phrases(m)))]
    assert matched, f"{task.text!r} is in no form of {key}"
    assert {n for n, _ in matched} <= set(SPLIT_LANGUAGE[task.split].forms), (task.split, task.text)
    slots = matched[0][1].groupdict()
    for one, many in (("p", "ps"), ("q", "qs")):  # a form may say "every star" for "all stars"
        if one in slots and many not in slots:
            slots[many] = P.describe(P.parse_phrase(slots[one]), plural_noun=True)
    return render(key, 0, slots)


def vqa_answer(scene: Scene, q: str) -> str:
    """Answer a canonical question of any template from its text alone."""
    if m := re.fullmatch(r"Is there (an? .+?) (and|or) (an? .+)\?", q):
        a, b = some(scene, m[1]), some(scene, m[3])
        return yes(a and b if m[2] == "and" else a or b)
    if m := re.fullmatch(r"Is there (an? .+)\?", q):
        return yes(some(scene, m[1]))
    if m := re.fullmatch(r"How many (.+) are there\?", q):
        return str(number(scene, m[1]))
    if m := re.fullmatch(rf"How many (.+) are ({P.RELATION_PATTERN}) the (.+)\?", q):
        anchor = the(scene, m[3])
        related = [o for o in P.select(scene.objects, P.parse_phrase(m[1]))
                   if o is not anchor and P.RELATIONS[m[2]](o, anchor)]
        return str(len(related))
    if m := re.fullmatch(r"Are there more (.+) than (.+)\?", q):
        return yes(number(scene, m[1]) > number(scene, m[2]))
    if m := re.fullmatch(r"What (color|shape|size|pattern) is the (.+)\?", q):
        return getattr(the(scene, m[2]), m[1])
    if m := re.fullmatch(r"Is the (.+) larger than the (.+)\?", q):
        return yes((the(scene, m[1]).size, the(scene, m[2]).size) == ("large", "small"))
    if m := re.fullmatch(r"Do the (.+) and the (.+) have the same (\w+)\?", q):
        return yes(getattr(the(scene, m[1]), m[3]) == getattr(the(scene, m[2]), m[3]))
    if m := re.fullmatch(rf"Is the (.+?) ({P.RELATION_PATTERN}) the (.+)\?", q):
        return yes(P.RELATIONS[m[2]](the(scene, m[1]), the(scene, m[3])))
    raise AssertionError(f"no checker parses {q!r}")


def detect_objects(scene: Scene, text: str) -> list[SceneObject]:
    """The objects a canonical detection phrase names."""
    if m := re.fullmatch(r"the (.+) furthest to the (left|right|top|bottom)", text):
        axis = 0 if m[2] in ("left", "right") else 1
        found = sorted(P.select(scene.objects, P.parse_phrase(m[1])), key=lambda o: P.center(o)[axis])
        extreme = found[0 if m[2] in ("left", "top") else -1]
        assert len(found) >= 2 and [P.center(o)[axis] for o in found].count(P.center(extreme)[axis]) == 1, text
        return [extreme]
    found = P.refer(scene.objects, text)
    if text.startswith("the "):
        assert len(found) == 1, text
    return found


def check(scenes: dict[str, Scene], task: Task) -> None:
    """The task's annotation is what its canonical wording means of its scene(s)."""
    text = canonical(task)
    scene = scenes[task.images[0]]
    if task.kind == "detect":
        assert task.annotation["boxes"] == [list(o.box) for o in detect_objects(scene, text)], text
    elif task.kind == "vqa":
        assert task.annotation["answer"] in ANSWERS
        assert vqa_answer(scene, text) == task.annotation["answer"], text
    else:
        holds = [caption_holds(scenes[i], text) for i in task.images]
        assert holds.count(True) == 1 and holds[task.annotation["index"]], (text, holds)
        assert len(set(task.images)) == len(task.images)


def test_world_tasks_check_against_scenes(world: Path) -> None:
    scenes = load_scenes(world)
    tasks = load_tasks(world)
    assert {t.kind for t in tasks} == {"detect", "vqa", "retrieve"}
    assert {t.split for t in tasks} == set(SPLITS)
    for task in tasks:
        check(scenes, task)
        if task.kind == "retrieve":
            assert all(i.startswith("train" if task.split == "train" else "heldout") for i in task.images)


def _generated(n_scenes: int) -> list[tuple[dict[str, Scene], Task]]:
    """Tasks of every kind and split from many scenes (some with one object)."""
    out = []
    for n in range(n_scenes):
        for split in SPLITS:
            rng = random.Random(f"{n}:{split}")
            scene = generate_scene(rng, f"s{n}", 128, 1 if n % 10 == 0 else 2, 6)
            made = make_retrieve(scene, rng, "r", split, [f"s{n}_neg{k}" for k in range(3)])
            tasks = [make_detect(scene, rng, "d", split), make_vqa(scene, rng, "v", split), made and made[0]]
            scenes = {s.image_id: s for s in (scene, *(made[1] if made else ()))}
            out += [(scenes, t) for t in tasks if t]
    return out


def test_generators_cover_every_template_and_split_and_check() -> None:
    """Many scenes through every generator and split: each family appears where its role
    allows, and each answer checks from the words."""
    generated = _generated(150)
    families: dict[tuple[str, str], set[str]] = {}
    answers: dict[str, int] = {}
    for scenes, task in generated:
        check(scenes, task)
        families.setdefault((task.kind, task.meta["template"]), set()).add(task.split)
        if task.kind == "vqa":
            answers[task.annotation["answer"]] = answers.get(task.annotation["answer"], 0) + 1
    by_kind = {kind: {t for k, t in families if k == kind} for kind in ("detect", "vqa", "retrieve")}
    assert by_kind["detect"] == {"unique", "relation", "all", "extreme", "all_relation"}
    assert len(DETECT_TEMPLATES) == 5 and len(VQA_TEMPLATES) == 9
    assert by_kind["vqa"] == {
        "exist", "count", "query_color", "query_shape", "query_pattern", "query_size",
        "compare_size", "compare_color", "compare_shape", "compare_pattern",
        "relate_query", "relate_verify", "logic_and", "logic_or", "more", "count_relation",
    }
    assert by_kind["retrieve"] == set(TEMPLATE_ROLES)
    for (kind, template), splits in families.items():  # each family lives in the splits of its role
        novel = template in ("all_relation", "count_relation", "count_pair")
        unseeded = template in ("extreme", "more", "negation")
        expected = {"novel"} if novel else {"train", "unseeded"} if unseeded else {"train", "seen", "paraphrase"}
        assert splits == expected, (kind, template, splits)
    assert 0.25 < answers["yes"] / (answers["yes"] + answers["no"]) < 0.75  # not a constant


def test_every_family_has_five_forms_and_held_out_ones_never_reach_training_text() -> None:
    generated = [t for _, t in _generated(60)]
    keys = {forms_key(t.kind, t.meta["template"]) for t in generated}
    assert keys == set(FORMS)
    assert all(len(FORMS[k]) >= FORMS_PER_FAMILY >= 5 and len(HELDOUT_FORMS) >= 2 for k in keys)
    training = [t.text for t in generated if t.split == "train"]
    for key, forms in FORMS.items():
        for n in HELDOUT_FORMS:
            pattern = form_pattern(forms[n])
            assert not any((m := pattern.match(text)) and all(map(_is_phrase, _phrases(m)))
                           for text in training), (key, forms[n])
    assert not any(re.search(rf"\b({'|'.join(SYNONYMS.values())})\b", text) for text in training)
    paraphrases = " ".join(t.text for t in generated if t.split == "paraphrase")
    assert all(re.search(rf"\b{word}\b", paraphrases) for word in SYNONYMS.values())


def test_reference_relations_are_the_predicates() -> None:
    """A reference program tests each relation the predicates define, and no other."""
    assert RELATION_TESTS.keys() == P.RELATIONS.keys()


def small(color: str, shape: str, box: tuple[float, float, float, float]) -> SceneObject:
    return SceneObject(shape=shape, color=color, size="small", pattern="solid", box=box)


@pytest.mark.parametrize("caption,expected", [
    ("a red star", True), ("a blue star", False), ("one red star", True), ("two stars", False),
    ("a red star and a blue circle", True), ("a red star and a red star", False),
    ("a red star left of a blue circle", True), ("a red star right of a blue circle", False),
])
def test_caption_holds(caption: str, expected: bool) -> None:
    scene = Scene("x", 64, 64, (small("red", "star", (0, 0, 10, 10)), small("blue", "circle", (30, 0, 40, 10))))
    assert caption_holds(scene, caption) is expected
