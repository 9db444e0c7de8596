"""The pass-through baseline: one tool call on the task text, a valid program for every kind."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.config import load_config
from visrep.programs.baselines import BASELINES, PASSTHROUGH_TOOL, passthrough_program
from visrep.programs.executor import API_NAMES, execute
from visrep.programs.text import ENTRY_POINT, program_body
from visrep.programs.validate import validate
from visrep.programs.worker import ToolError
from visrep.visual.oracle import OracleBackend
from visrep.world import build_world_from, load_scenes, load_tasks
from visrep.world.records import TASK_KINDS, Task

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
