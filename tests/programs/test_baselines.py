"""The baselines: pass-through (one tool call on the task text, a valid program for every
kind) and reference (the generator's program per task, which earns reward 1 with the oracle)."""

from __future__ import annotations

import ast
import random
import textwrap
from pathlib import Path

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.config import VisualConfig, load_config
from visrep.programs.baselines import BASELINES, PASSTHROUGH_TOOL, passthrough_program, reference_program
from visrep.programs.executor import API_NAMES, execute, executor_for_world
from visrep.programs.sandbox import SAFE_BUILTINS
from visrep.programs.text import ENTRY_POINT, program_body
from visrep.programs.validate import validate
from visrep.rewards import score
from visrep.visual.api import ToolError
from visrep.visual.oracle import OracleBackend
from visrep.world import build_world_from, load_scenes, load_tasks
from visrep.world.records import HELDOUT_SPLITS, TASK_KINDS, Task
from visrep.world.retrieval import make_retrieve
from visrep.world.scenes import generate_scene
from visrep.world.tasks import make_detect, make_vqa

AWKWARD = "the 'red' star\n\"left\" of {0.__class__} \\ it"


@pytest.mark.parametrize("kind", TASK_KINDS)
def test_passthrough_is_one_tool_call_on_the_text_and_validates(kind: str) -> None:
    source = passthrough_program(Task("t", kind, AWKWARD, ("img",), {}))  # type: ignore[arg-type]
    validate(source, set(API_NAMES))
    (ret,) = ast.parse(program_body(source).strip()).body
    assert isinstance(ret, ast.Return) and isinstance(ret.value, ast.Call)
    call = ret.value
    assert isinstance(call.func, ast.Attribute) and call.func.attr == PASSTHROUGH_TOOL[kind].__name__
    assert [ast.literal_eval(a) for a in call.args] == [AWKWARD]
    assert source.startswith(f"def {ENTRY_POINT}(") and BASELINES["passthrough"] is passthrough_program


def test_passthrough_runs_on_a_tiny_world_with_the_oracle(tmp_path: Path) -> None:
    world = tmp_path / "world"
    build_world_from(world, load_config("tiny").world)
    scenes = load_scenes(world)
    sizes = {i: (s.width, s.height) for i, s in scenes.items()}
    tasks = {t.kind: t for t in load_tasks(world, "heldout")}
    assert set(tasks) == set(TASK_KINDS)
    for kind, task in tasks.items():
        result = execute(passthrough_program(task), task, OracleBackend(scenes), sizes, load_config("tiny").executor)
        # the one call ran; a tool may refuse the sentence (out of its grammar)
        assert result.status == "ok" or ToolError.__name__ in result.error, (kind, result)
        assert result.api_calls >= 1


# Every template the generators write (tasks.py, retrieval.py), by kind.
TEMPLATES = {
    "detect": {"unique", "relation", "all", "extreme", "all_relation"},
    "vqa": {"exist", "count", "query_color", "query_shape", "query_pattern", "query_size", "compare_size",
            "compare_color", "compare_shape", "compare_pattern", "relate_query", "relate_verify",
            "logic_and", "logic_or", "more", "count_relation"},
    "retrieve": {"single", "pair", "relation", "count", "negation", "count_pair"},
}


def _templates(tasks: list[Task]) -> dict[str, set[str]]:
    return {kind: {t.meta["template"] for t in tasks if t.kind == kind} for kind in TASK_KINDS}


@pytest.mark.parametrize("profile", ["tiny", "default"])
def test_reference_program_of_every_task_earns_reward_1_with_the_oracle(profile: str, tmp_path: Path) -> None:
    """The acceptance test: the tools' grammar allows a correct program for every task."""
    world = build_world_from(tmp_path / "world", load_config(profile).world).dir
    tasks = load_tasks(world)
    programs = [reference_program(t) for t in tasks]
    with executor_for_world(world, VisualConfig("oracle"), load_config("default").executor) as executor:
        results = executor.run(list(zip(programs, tasks)))
    failed = [f"{t.id} {t.text!r}:\n{p}-> {r.status} {r.error} {r.value!r} ({score(t, r).detail})"
              for t, p, r in zip(tasks, programs, results) if score(t, r).value != 1.0]
    assert not failed, f"{len(failed)} of {len(tasks)} reference programs fail:\n" + "\n".join(failed[:10])
    if profile == "default":  # so every template's reference has run
        assert _templates(tasks) == TEMPLATES


def test_reference_programs_validate_and_a_task_without_one_raises() -> None:
    tasks = []
    for n in range(400):
        rng = random.Random(n)
        scene = generate_scene(rng, f"s{n}", 128, 1 if n % 10 == 0 else 2, 6)
        split = ("train", *HELDOUT_SPLITS)[n % 5]
        made = make_retrieve(scene, rng, "retrieve/0", split, [f"s{n}_neg{k}" for k in range(3)])
        tasks += [make_detect(scene, rng, "detect/0", split), make_vqa(scene, rng, "vqa/0", split)]
        tasks = [t for t in tasks if t] + ([made[0]] if made else [])
    assert _templates(tasks) == TEMPLATES
    for task in tasks:
        source = reference_program(task)
        validate(source, set(API_NAMES) | set(SAFE_BUILTINS))
        assert ast.dump(ast.parse(textwrap.dedent(program_body(source)))) == ast.dump(ast.parse(task.meta["reference"]))
    assert BASELINES["reference"] is reference_program
    bare = Task("vqa/3", "vqa", "Is there a star?", ("img",), {"answer": "yes"}, "heldout", {"template": "exist"})
    with pytest.raises(ValueError, match=r"^task vqa/3 has no reference program") as info:
        reference_program(bare)
    assert "\n" not in str(info.value)
