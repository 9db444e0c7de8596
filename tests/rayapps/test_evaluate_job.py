"""`rayapps.evaluate.main` on a tiny world: a checkpoint and the pass-through baseline through
the loop's actor pools on a real local Ray cluster, and its one-line user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rayapps.evaluate import main
from visrep.cli import cache_dir
from visrep.config import load_config
from visrep.policy.models import resolve_model
from visrep.programs.baselines import passthrough_program
from visrep.programs.executor import execute
from visrep.programs.records import Program
from visrep.rewards import score
from visrep.selftrain import trajectories as T
from visrep.selftrain.metrics import accuracy_json, accuracy_table
from visrep.visual.backend import make_backend
from visrep.world import build_world_from, load_scenes, load_tasks
from visrep.world.loaders import images_dir
from visrep.world.records import HELDOUT_SPLITS, TASK_KINDS


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval") / "world"
    build_world_from(root, load_config("tiny").world)
    return root


@pytest.mark.ray
@pytest.mark.slow
def test_checkpoint_on_every_kind_and_split(world: Path, tmp_path: Path, ray_cluster: None,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = resolve_model(load_config("tiny").policy, cache_dir())
    out, rows = tmp_path / "eval.json", tmp_path / "eval.parquet"
    argv = ["--checkpoint", str(checkpoint), "--world", str(world), "--config", "tiny",
            "--out", str(out), "--trajectories", str(rows)]
    assert main(argv) == 0
    report = json.loads(out.read_text())
    tasks = load_tasks(world)
    splits = list(dict.fromkeys(t.split for t in tasks))
    assert splits == ["train", *HELDOUT_SPLITS] and report["splits"] == [*splits, "all"]
    assert list(report["accuracy"]) == list(TASK_KINDS)
    for kind, per_split in report["accuracy"].items():
        assert list(per_split) == report["splits"]
        assert all(0.0 <= cell["mean"] <= 1.0 for cell in per_split.values())
        assert per_split["all"]["n"] == sum(t.kind == kind for t in tasks)
    assert f"| kind | {' | '.join(splits)} | all |" in capsys.readouterr().out
    frame = pd.read_parquet(rows)
    assert sorted(frame[T.TASK_ID]) == sorted(t.id for t in tasks)  # one greedy program per task
    assert set(frame[T.PHASE]) == {"eval"} and set(frame[T.SAMPLE]) == {0}


@pytest.mark.ray
@pytest.mark.slow
def test_passthrough_equals_executing_and_scoring_its_programs(world: Path, tmp_path: Path,
                                                              ray_cluster: None) -> None:
    out, rows = tmp_path / "passthrough.json", tmp_path / "passthrough.parquet"
    argv = ["--baseline", "passthrough", "--world", str(world), "--split", "heldout", "--config", "tiny",
            "--backend", "oracle", "--out", str(out), "--trajectories", str(rows)]
    assert main(argv) == 0
    cfg = load_config("tiny")
    scenes = load_scenes(world)
    backend = make_backend("oracle", scenes, images_dir(world))
    sizes = {i: (s.width, s.height) for i, s in scenes.items()}
    expected = []
    for task in load_tasks(world, "heldout"):
        source = passthrough_program(task)
        result = execute(source, task, backend, sizes, cfg.executor)
        expected.append(T.make_row(0, "passthrough", 0, task, Program(task.id, source), result,
                                   score(task, result)))
    got = T.read_rows(rows)
    assert {r[T.TASK_ID]: (r[T.SOURCE], r[T.STATUS], r[T.REWARD]) for r in got} == {
        r[T.TASK_ID]: (r[T.SOURCE], r[T.STATUS], r[T.REWARD]) for r in expected}
    report = json.loads(out.read_text())
    assert report["baseline"] == "passthrough" and report["splits"] == [*HELDOUT_SPLITS, "all"]
    assert report["accuracy"] == accuracy_json(accuracy_table(expected))


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("evaluate: error: ")
    return line


def test_user_errors_are_one_line_and_exit_2(world: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    tiny = ["--config", "tiny"]
    passthrough = ["--baseline", "passthrough", *tiny]
    assert "does not exist" in _error(["--checkpoint", str(tmp_path / "nope"), "--world", str(world), *tiny], capsys)
    (tmp_path / "empty").mkdir()
    assert "not an HF model dir (no config.json)" in _error(
        ["--checkpoint", str(tmp_path / "empty"), "--world", str(world), *tiny], capsys)
    assert "world" in _error([*passthrough, "--world", str(tmp_path / "nowhere")], capsys)
    assert "no task file" in _error([*passthrough, "--world", str(tmp_path / "empty")], capsys)
    assert "no tasks of split 'nosuch'" in _error([*passthrough, "--world", str(world), "--split", "heldout,nosuch"],
                                                 capsys)
    assert "not a student ready for the tools" in _error([*passthrough, "--world", str(world), "--backend", "student",
                                                          "--student-dir", str(tmp_path / "empty")], capsys)
    assert "given both" in _error([*passthrough, "--world", str(world), "--backend", "oracle",
                                   "visual.backend=student"], capsys)
    with pytest.raises(SystemExit) as exit_info:  # neither --checkpoint nor --baseline: argparse's usage error
        main(["--world", str(world)])
    assert exit_info.value.code == 2
