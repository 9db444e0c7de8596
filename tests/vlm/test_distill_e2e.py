"""``rayapps.distill.main`` end to end on the tiny profile (world → teacher → rows → report)."""

from pathlib import Path

import pytest
import torch

from rayapps import distill
from visrep.visual.accuracy import METRICS
from visrep.visual.redistill import redistill_for_tools
from visrep.vlm.redistill import Budget
from visrep.vlm.student import StudentDir, load_student
from visrep.world import load_scenes


def numeric(cell: str) -> bool:
    return cell.strip().replace(".", "", 1).isdigit()


def test_tiny_distill_end_to_end_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["--config", "tiny", "--no-progress", f"run.dir={tmp_path / 'run'}",
            f"run.report={tmp_path / 'distill.md'}", f"run.mlflow_uri=sqlite:///{tmp_path / 'mlflow.db'}"]
    assert distill.main(args) == 0
    report = (tmp_path / "distill.md").read_text()
    for row in ("teacher (plain prompts)", "student: cls", "student: all", "OOD zero-shot", "images/s",
                "ID top-1 agreement %", "OOD class KL"):
        assert row in report
    imitation = next(x for x in report.splitlines() if x.startswith("| all |")).split("|")[2:8]
    assert all(numeric(c) for c in imitation), imitation
    assert "## Visual-API primitives: student backend vs oracle" in report
    student_cells = []
    for metric in METRICS:  # the API table: every primitive, the oracle's numbers and the student's
        cells = next(x for x in report.splitlines() if x.startswith(f"| {metric} |")).split("|")
        assert all(numeric(c) for c in cells[5:7]), cells
        student_cells += cells[2:5]
    assert sum(map(numeric, student_cells)) >= len(METRICS)  # (a random tiny student may find nothing)
    student = load_student(tmp_path / "run" / "student")
    assert student.meta["row"] == "all" and student.encode_texts(["a photo of a red star."]).shape[0] == 1
    assert (tmp_path / "mlflow.db").is_file()
    capsys.readouterr()
    assert distill.main(args) == 0  # resumes: nothing is trained again
    out = capsys.readouterr().out
    assert "training the teacher" not in out and out.count("done before, skipped") == 2
    _redistill(tmp_path / "run")


def _redistill(run: Path) -> None:
    """The closed loop's fine-tune on that run: a student the tools load, moved by the new crops."""
    scenes = load_scenes(run / "world")
    objects = [(i, o.box) for i, s in sorted(scenes.items()) for o in s.objects][:12]
    out = run / "redistilled"
    result = redistill_for_tools(run / "student", out, run / "world", objects, Budget(3, 8, 1e-3, 0.5), seed=0)
    assert result["crops"] == 12 and result["steps"] == 3 and 0.0 <= result["teacher_ood_labels"] <= 1.0
    assert {"id/teacher_agreement", "ood/class_kl", "ood/zero_shot"} <= set(result["metrics"])
    assert StudentDir(out).ready_for_tools()
    before, after = load_student(run / "student"), load_student(out)
    assert after.meta["redistilled_from"] == str(run / "student")
    moved = [not torch.equal(a, b) for a, b in zip(before.model.visual.parameters(), after.model.visual.parameters())]
    assert any(moved)
    assert torch.equal(before.encode_texts(["a red star"]), after.encode_texts(["a red star"]))  # text side kept


def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert distill.main(["--config", "tiny", "rows=[cls,bogus]"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("distill: error:") and "\n" not in err
    assert distill.main(["--config", str(tmp_path / "missing.yaml")]) == 2
