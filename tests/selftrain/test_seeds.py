"""The seed programs (the paper's "human corrections") are real, correct and cover every seeded family;
training pairs and the loop's tasks come from them and the default world."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from visrep.cli import SetupError
from visrep.config import ExecutorConfig, load_config
from visrep.programs.executor import execute
from visrep.programs.records import ExecResult, Program
from visrep.programs.text import extract_program
from visrep.rewards import score
from visrep.rewards.records import Reward
from visrep.selftrain import trajectories as T
from visrep.selftrain.corrections import load_corrections
from visrep.selftrain.examples import (
    SOURCE_CORRECTIONS,
    SOURCE_SAMPLED,
    SOURCE_SEEDS,
    load_seeds,
    program_examples,
    prompt_for,
    training_examples,
    training_pair,
)
from visrep.selftrain.tasks import loop_tasks, probe_tasks, run_world, warm_start_reason
from visrep.visual.backend import make_backend
from visrep.world import build_world_from, load_scenes, load_tasks

CFG = load_config("default")
SEEDS = load_seeds(Path(__file__).resolve().parents[2] / CFG.warm_start.seeds_file)


@pytest.fixture(scope="module")
def default_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    w = CFG.world
    root = tmp_path_factory.mktemp("world") / "w"
    build_world_from(root, w)
    return root


def test_at_most_fifty_seeds() -> None:
    assert 0 < len(SEEDS) <= 50


def test_every_seed_solves_its_training_task_with_the_oracle(default_world: Path) -> None:
    tasks = {t.id: t for t in load_tasks(default_world, "train")}
    scenes = load_scenes(default_world)
    backend = make_backend("oracle", scenes, default_world / "images")
    sizes = {i: (s.width, s.height) for i, s in scenes.items()}
    for seed in SEEDS:
        task = tasks[seed.task_id]
        assert (task.kind, task.text) == (seed.kind, seed.text), seed.task_id
        source = "def execute_command(image):\n" + "".join(f"    {line}\n" for line in seed.body.splitlines())
        result = execute(source, task, backend, sizes, ExecutorConfig())
        assert score(task, result).value == 1.0, (seed.task_id, result)


def test_seeds_cover_every_seeded_family_of_the_default_world_and_no_other(default_world: Path) -> None:
    """Seeded families have seeds; the unseeded ones are among the training tasks with none,
    so only sampling and reward can teach them (the held-out split "unseeded")."""
    tasks = {t.id: t for t in load_tasks(default_world, "train")}
    templates = {(t.kind, t.meta["template"]) for t in tasks.values()}
    unseeded = {(t.kind, t.meta["template"]) for t in load_tasks(default_world, "unseeded")}
    covered = {(tasks[s.task_id].kind, tasks[s.task_id].meta["template"]) for s in SEEDS}
    assert covered == templates - unseeded
    assert len({kind for kind, _ in unseeded}) == 3 and unseeded <= templates


def test_training_pair_is_the_sampling_prompt_plus_body() -> None:
    seed = SEEDS[0]
    prompt, completion = training_pair(seed.kind, seed.text, seed.body, SEEDS, CFG.prompt)
    assert prompt == prompt_for(seed.kind, seed.text, SEEDS, CFG.prompt)
    assert prompt.endswith("def execute_command(image):\n")
    assert completion == "".join(f"    {line}\n" for line in seed.body.splitlines())
    _, again = training_pair(seed.kind, seed.text, completion, SEEDS, CFG.prompt)
    assert again == completion  # an already-indented (sampled) body is kept as is


def test_kept_rows_train_on_their_extracted_body_apart_from_the_seeds(default_world: Path) -> None:
    tasks = {t.id: t for t in load_tasks(default_world, "train")}
    seed = SEEDS[0]
    completion = "".join(f"    {line}\n" for line in seed.body.splitlines()) + "\n# Task (vqa): ran on\n"
    row = T.make_row(1, "grow", 0, tasks[seed.task_id], Program(seed.task_id, extract_program(completion),
                                                                completion), ExecResult("ok"), Reward(1.0, ""))
    pair = training_pair(seed.kind, seed.text, seed.body, SEEDS, CFG.prompt)
    assert training_examples([row], tasks, SEEDS, [], CFG.prompt, keep_seeds=False) == \
        {SOURCE_SAMPLED: [pair], SOURCE_SEEDS: [], SOURCE_CORRECTIONS: []}
    assert training_examples([row], tasks, SEEDS, [], CFG.prompt, keep_seeds=True) == \
        {SOURCE_SAMPLED: [pair], SOURCE_SEEDS: program_examples(SEEDS, SEEDS, CFG.prompt),
         SOURCE_CORRECTIONS: []}
    assert len(program_examples(SEEDS, SEEDS, CFG.prompt)) == len(SEEDS)


def test_loop_tasks_are_seeded_and_of_the_kinds_asked(default_world: Path) -> None:
    train, heldout = loop_tasks(default_world, ("vqa", "detect"), eval_tasks=5, seed=0)
    assert {t.kind for t in train + heldout} <= {"vqa", "detect"} and len(heldout) == 5
    assert (train, heldout) == loop_tasks(default_world, ("vqa", "detect"), eval_tasks=5, seed=0)
    assert probe_tasks(train, 3, seed=1) == probe_tasks(train, 3, seed=1)
    assert len(probe_tasks(train, 10 ** 6, seed=1)) == len(train)
    with pytest.raises(SetupError, match="no train or held-out tasks of kinds \\['nothing'\\]"):
        loop_tasks(default_world, ("nothing",), eval_tasks=0, seed=0)


def test_run_world_is_the_given_dir_or_one_built_in_the_run(default_world: Path, tmp_path: Path) -> None:
    assert run_world(tmp_path, replace(CFG.world, dir=str(default_world))) == default_world
    with pytest.raises(SetupError, match="world.dir .* does not exist"):
        run_world(tmp_path, replace(CFG.world, dir=str(tmp_path / "missing")))


def test_bad_seed_line_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "seeds.jsonl"
    bad.write_text('{"task_id": "x", "kind": "vqa", "text": "t", "body": "return 1"}\n{"task_id": 1}\n')
    with pytest.raises(ValueError, match=r"seeds.jsonl:2: not a seed program"):
        load_seeds(bad)


def test_shipped_corrections_are_at_most_fifty_correct_programs_for_training_tasks(default_world: Path) -> None:
    """configs/corrections/default.jsonl: written from a real run's failures (its "run" says
    which), each a training task of the default world that its body solves with the oracle."""
    path = Path(__file__).resolve().parents[2] / "configs" / "corrections" / "default.jsonl"
    tasks = {t.id: t for t in load_tasks(default_world, "train")}
    corrections = load_corrections(path, tasks)
    assert 0 < len(corrections) <= 50
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(line["run"].startswith("runs/default: ") and line["sampled"] for line in lines)
    scenes = load_scenes(default_world)
    backend = make_backend("oracle", scenes, default_world / "images")
    sizes = {i: (s.width, s.height) for i, s in scenes.items()}
    for c in corrections:
        source = "def execute_command(image):\n" + "".join(f"    {line}\n" for line in c.body.splitlines())
        assert score(tasks[c.task_id], execute(source, tasks[c.task_id], backend, sizes, ExecutorConfig())).value == 1.0


def test_warm_start_when_the_probe_fails_or_measured_another_prompt() -> None:
    ws, prompt = CFG.warm_start, CFG.prompt
    assert prompt != ws.probe_prompt  # the default loop samples from the task alone
    assert warm_start_reason(0.0, ws, prompt).startswith("< 10%")
    # a probe success with the few-shot prompt does not carry over to the loop's prompt
    assert "another prompt" in warm_start_reason(0.5, ws, prompt)
    assert warm_start_reason(0.5, ws, ws.probe_prompt) == ""  # the loop samples the probe's prompt
    assert warm_start_reason(0.0, replace(ws, min_solve_rate=0.0), prompt) == ""  # never


def test_warm_start_takes_at_least_min_steps() -> None:
    ws = replace(CFG.warm_start, epochs=3, min_steps=18)
    assert ws.epochs_for(41, 8) == 3  # 6 steps an epoch: 18 already
    assert ws.epochs_for(8, 8) == 18  # one step an epoch (8 GQA seeds)
    assert ws.epochs_for(20, 8) == 6
    assert replace(ws, min_steps=0).epochs_for(8, 8) == 3
