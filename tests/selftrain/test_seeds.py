"""The seed programs (the paper's "human corrections") are real, correct and cover every template."""

from pathlib import Path

import pytest

from visrep.config import ExecutorConfig, load_config
from visrep.rewards import score
from visrep.selftrain.examples import load_seeds, prompt_for, training_pair
from visrep.selftrain.execute import execute
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


def test_seeds_cover_every_template_of_the_default_world(default_world: Path) -> None:
    tasks = {t.id: t for t in load_tasks(default_world, "train")}
    templates = {(t.kind, t.meta["template"]) for t in tasks.values()}
    covered = {(tasks[s.task_id].kind, tasks[s.task_id].meta["template"]) for s in SEEDS}
    assert covered == templates


def test_training_pair_is_the_sampling_prompt_plus_body() -> None:
    seed = SEEDS[0]
    prompt, completion = training_pair(seed.kind, seed.text, seed.body, SEEDS, CFG.prompt)
    assert prompt == prompt_for(seed.kind, seed.text, SEEDS, CFG.prompt)
    assert prompt.endswith("def execute_command(image):\n")
    assert completion == "".join(f"    {line}\n" for line in seed.body.splitlines())
    _, again = training_pair(seed.kind, seed.text, completion, SEEDS, CFG.prompt)
    assert again == completion  # an already-indented (sampled) body is kept as is


def test_bad_seed_line_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "seeds.jsonl"
    bad.write_text('{"task_id": "x", "kind": "vqa", "text": "t", "body": "return 1"}\n{"task_id": 1}\n')
    with pytest.raises(ValueError, match=r"seeds.jsonl:2: not a seed program"):
        load_seeds(bad)
