"""Executor and scorer actor classes built directly from the tiny config (no Ray)."""

from pathlib import Path

import pytest

from actors.executor import ExecutorActor
from actors.scorer import ScorerActor
from visrep.config import load_config
from visrep.programs.records import Program, SampleBatch
from visrep.world import build_world_from, load_tasks

CFG = load_config("tiny", ["visual.backend=oracle"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    w = CFG.world
    root = tmp_path_factory.mktemp("tiny") / "world"
    build_world_from(root, w)
    return root


def _program(task_id: str, body: str) -> Program:
    return Program(task_id, "def execute_command(image):\n" + "".join(f"    {ln}\n" for ln in body.splitlines()))


def test_executor_then_scorer_grade_right_wrong_and_hostile_programs(world: Path) -> None:
    tasks = [t for t in load_tasks(world, "train") if t.kind == "vqa"][:2]
    right = [f'return {t.annotation["answer"]!r}' for t in tasks]  # an answer-key program
    batch = SampleBatch([
        [_program(t.id, right[i]), _program(t.id, 'return "purple elephant"'),
         _program(t.id, "import os\nreturn os.name"), _program(t.id, "while True:\n    pass")]
        for i, t in enumerate(tasks)
    ])
    executor = ExecutorActor(str(world), CFG.visual, CFG.executor)
    results = executor.run(tasks, batch)
    assert [[r.status for r in rs] for rs in results] == [["ok", "ok", "rejected", "timeout"]] * 2
    rewards = ScorerActor().score(tasks, results)
    assert [[r.value for r in rs] for rs in rewards] == [[1.0, 0.0, 0.0, 0.0]] * 2
    # a part of the batch (the pipeline spreads a batch over executors): the second task's programs
    (part,) = executor.run(tasks[1:], batch, start=1)
    assert [r.value for r in part] == [r.value for r in results[1]]
    assert [r.status for r in part] == [r.status for r in results[1]]


def test_executor_runs_retrieval_over_every_candidate(world: Path) -> None:
    task = next(t for t in load_tasks(world, "train") if t.kind == "retrieve")
    batch = SampleBatch([[_program(task.id, f"return image.image_text_score({task.text!r})")]])
    (result,), = ExecutorActor(str(world), CFG.visual, CFG.executor).run([task], batch)
    assert result.status == "ok" and len(result.value) == len(task.images)


def test_mismatched_lengths_are_refused(world: Path) -> None:
    tasks = load_tasks(world, "train")[:2]
    executor = ExecutorActor(str(world), CFG.visual, CFG.executor)
    with pytest.raises(ValueError, match="2 tasks from 0 for 1 program lists"):
        executor.run(tasks, SampleBatch([[]]))
    with pytest.raises(ValueError, match="1 tasks from 1 for 1 program lists"):
        executor.run(tasks[:1], SampleBatch([[]]), start=1)
    with pytest.raises(ValueError, match="2 tasks for 0 result lists"):
        ScorerActor().score(tasks, [])
