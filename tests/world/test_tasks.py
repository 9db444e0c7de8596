"""Generated answers are checked against the scene through the predicates, from the text.

The checkers here parse each task's words, not the generator's choices, so a phrase that
names a different object than the one whose box/attribute was stored fails the test.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from visrep.world import load_scenes, load_tasks
from visrep.world import predicates as P
from visrep.world.records import COLORS, PATTERNS, SHAPES, SIZES, Scene, SceneObject, Task
from visrep.world.references import RELATION_TESTS
from visrep.world.retrieval import caption_holds, make_retrieve
from visrep.world.scenes import generate_scene
from visrep.world.tasks import DETECT_TEMPLATES, make_detect, make_vqa

ANSWERS = {"yes", "no", *map(str, range(10)), *COLORS, *SHAPES, *PATTERNS, *SIZES}


def the(scene: Scene, phrase: str):
    found = P.refer(scene.objects, "the " + phrase)
    assert len(found) == 1, f"'the {phrase}' names {len(found)} objects"
    return found[0]


def some(scene: Scene, phrase: str) -> bool:
    return bool(P.select(scene.objects, P.parse_phrase(phrase)))


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def vqa_answer(scene: Scene, q: str) -> str:
    """Answer a question of any template from its text alone."""
    if m := re.fullmatch(r"Is there (an? .+?) (and|or) (an? .+)\?", q):
        a, b = some(scene, m[1]), some(scene, m[3])
        return yes(a and b if m[2] == "and" else a or b)
    if m := re.fullmatch(r"Is there (an? .+)\?", q):
        return yes(some(scene, m[1]))
    if m := re.fullmatch(r"How many (.+) are there\?", q):
        return str(len(P.select(scene.objects, P.parse_phrase(m[1]))))
    if m := re.fullmatch(r"What (color|shape|size) is the (.+)\?", q):
        return getattr(the(scene, m[2]), m[1])
    if m := re.fullmatch(r"What pattern does the (.+) have\?", q):
        return the(scene, m[1]).pattern
    if m := re.fullmatch(r"Is the (.+) larger than the (.+)\?", q):
        return yes((the(scene, m[1]).size, the(scene, m[2]).size) == ("large", "small"))
    if m := re.fullmatch(r"Do the (.+) and the (.+) have the same (\w+)\?", q):
        return yes(getattr(the(scene, m[1]), m[3]) == getattr(the(scene, m[2]), m[3]))
    if m := re.fullmatch(rf"Is the (.+?) ({P.RELATION_PATTERN}) the (.+)\?", q):
        return yes(P.RELATIONS[m[2]](the(scene, m[1]), the(scene, m[3])))
    raise AssertionError(f"no checker parses {q!r}")


def check_detect(scene: Scene, task: Task) -> None:
    found = P.refer(scene.objects, task.text)
    if task.text.startswith("the "):
        assert len(found) == 1, task.text
    assert task.annotation["boxes"] == [list(o.box) for o in found], task.text


def check_retrieve(scenes: dict[str, Scene], task: Task) -> None:
    holds = [caption_holds(scenes[i], task.text) for i in task.images]
    assert holds.count(True) == 1 and holds[task.annotation["index"]], (task.text, holds)
    assert len(set(task.images)) == len(task.images)


def test_world_tasks_check_against_scenes(world: Path) -> None:
    scenes = load_scenes(world)
    tasks = load_tasks(world)
    assert {t.kind for t in tasks} == {"detect", "vqa", "retrieve"}
    for task in tasks:
        if task.kind == "detect":
            check_detect(scenes[task.images[0]], task)
        elif task.kind == "vqa":
            assert task.annotation["answer"] in ANSWERS
            assert vqa_answer(scenes[task.images[0]], task.text) == task.annotation["answer"], task.text
        else:
            check_retrieve(scenes, task)
            assert all(i.startswith(task.split) for i in task.images)


def test_generators_cover_every_template_and_check() -> None:
    """Many scenes through every generator: each template appears and each answer checks."""
    templates: dict[str, set[str]] = {"detect": set(), "vqa": set(), "retrieve": set()}
    answers: dict[str, int] = {}
    for n in range(150):
        rng = random.Random(n)
        scene = generate_scene(rng, f"s{n}", 128, 1 if n % 10 == 0 else 2, 6)
        detect, vqa = make_detect(scene, rng, "d", "train"), make_vqa(scene, rng, "v", "train")
        check_detect(scene, detect)
        assert vqa_answer(scene, vqa.text) == vqa.annotation["answer"], vqa.text
        answers[vqa.annotation["answer"]] = answers.get(vqa.annotation["answer"], 0) + 1
        made = make_retrieve(scene, rng, "r", "train", [f"s{n}_neg{k}" for k in range(3)])
        assert made is not None
        task, negatives = made
        check_retrieve({s.image_id: s for s in (scene, *negatives)}, task)
        for t in (detect, vqa, task):
            templates[t.kind].add(t.meta["template"])
    assert templates["detect"] == {"unique", "relation", "all"} and len(DETECT_TEMPLATES) == 3
    assert templates["vqa"] == {
        "exist", "count", "query_color", "query_shape", "query_pattern", "query_size",
        "compare_size", "compare_color", "compare_shape", "compare_pattern",
        "relate_query", "relate_verify", "logic_and", "logic_or",
    }
    assert templates["retrieve"] == {"single", "pair", "relation", "count"}
    assert 0.25 < answers["yes"] / (answers["yes"] + answers["no"]) < 0.75  # not a constant


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
