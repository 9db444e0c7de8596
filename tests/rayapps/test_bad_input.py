"""Bad input to the self-training job: one line naming the file, key or task, exit 2, and no
config.yaml written, so the corrected command is not refused as "a different config".

Every case fails before Ray starts (the oracle's tools: no student to distil).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rayapps.selftrain import main
from visrep.config import load_config
from visrep.world import build_world_from

ORACLE = ["--config", "tiny", "visual.backend=oracle"]


def _fails(args: list[str], capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("selftrain: error: "), err
    assert all(f in err[0] for f in fragments), err[0]
    return err[0]


def test_a_missing_seeds_file_is_one_line_and_claims_no_run_dir(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    _fails([*ORACLE, f"run.dir={run}", "warm_start.seeds_file=/nonexistent/seeds.jsonl"], capsys,
           "warm_start.seeds_file", "/nonexistent/seeds.jsonl", "does not exist")
    assert not (run / "config.yaml").exists()


def test_a_run_dir_that_is_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.write_text("not a directory")
    _fails([*ORACLE, f"run.dir={run}"], capsys, f"run.dir {run} is a file")
    assert run.read_text() == "not a directory"


def test_a_garbage_student_dir_is_refused_before_anything_starts(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    run, student = tmp_path / "run", tmp_path / "student"
    student.mkdir()
    (student / "student.json").write_text("{not json")
    _fails(["--config", "tiny", f"run.dir={run}", "visual.backend=student", f"visual.student_dir={student}"],
           capsys, str(student))
    assert not (run / "config.yaml").exists()


def test_a_question_about_an_unknown_image_is_found_before_the_run_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world, run = tmp_path / "world", tmp_path / "run"
    build_world_from(world, load_config("tiny").world)
    questions = json.loads((world / "questions.json").read_text())
    first = next(iter(questions))
    questions[first]["imageId"] = "train_99999"
    (world / "questions.json").write_text(json.dumps(questions))
    _fails([*ORACLE, f"run.dir={run}", f"world.dir={world}"], capsys, "train_99999", "instances file")
    assert not (run / "config.yaml").exists()


def test_corrections_naming_an_unknown_task_leave_the_run_dir_unclaimed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run, corrections = tmp_path / "run", tmp_path / "corrections.jsonl"
    corrections.write_text(json.dumps({"task_id": "vqa/nosuch", "kind": "vqa", "text": "Is it?",
                                       "body": "return 'yes'"}) + "\n")
    _fails([*ORACLE, f"run.dir={run}", f"selftrain.corrections_file={corrections}",
            "selftrain.corrections_from=1"], capsys, str(corrections), "vqa/nosuch")
    assert not (run / "config.yaml").exists()
