"""Smoke test of ``python -m rayapps.api_accuracy`` on a tiny world with a random tiny student
(the real ``visrep.vlm.student`` checkpoint format), and the student backend through
``make_backend`` as the executor builds it."""

from __future__ import annotations

from pathlib import Path

import torch

from rayapps.api_accuracy import main
from visrep.visual.accuracy import METRICS
from visrep.visual.backend import make_backend
from visrep.visual.student import StudentBackend
from visrep.vlm.models import create_model
from visrep.vlm.student import StudentDir, save_student
from visrep.world import build_world, load_scenes


def test_api_accuracy_smoke(tmp_path: Path, capsys) -> None:
    torch.set_num_threads(1)
    world = build_world(tmp_path / "world", seed=1, image_size=96, min_objects=2, max_objects=4,
                        train_images=8, heldout_images=3, tasks_per_image=1,
                        retrieval_candidates=2, kinds=("detect", "vqa", "retrieve")).dir
    student = tmp_path / "student"
    save_student(create_model("visrep-tiny-clip"), student, {"crop_margin": 0.1, "split_seed": 0})
    out = tmp_path / "api_accuracy.md"
    assert main(["--student-dir", str(student), "--world-dir", str(world), "--out", str(out),
                 "--scenes", "3", "--proposal-steps", "60"]) == 0
    assert StudentDir(student).ready_for_tools()
    table = out.read_text()
    for metric in METRICS:
        assert f"| {metric} |" in table
    oracle_find = [line for line in table.splitlines() if line.startswith("| find recall@0.5 |")][0]
    assert "1.000" in oracle_find.split("|")[5]  # the oracle finds every object it is asked for
    backend = make_backend("student", load_scenes(world), world / "images", student_dir=str(student))
    assert isinstance(backend, StudentBackend)
    assert isinstance(backend.find("heldout_00000", (0.0, 0.0, 96.0, 96.0), "objects"), list)


def test_a_mistyped_student_dir_is_one_line_before_any_work(tmp_path: Path, capsys) -> None:
    out = tmp_path / "api_accuracy.md"
    assert main(["--student-dir", str(tmp_path / "studnet"), "--world-dir", str(tmp_path / "no-world"),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"api_accuracy: error: --student-dir {tmp_path / 'studnet'} holds no distilled student "
                   "(no student.json); make one with python -m rayapps.distill"]
    assert not out.exists() and not (tmp_path / "no-world").exists()
