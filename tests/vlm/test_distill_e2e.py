"""``rayapps.distill.main`` end to end on the tiny profile (world → teacher → rows → report)."""

from pathlib import Path

import pytest

from rayapps import distill
from visrep.visual.accuracy import METRICS
from visrep.vlm.student import load_student


def test_tiny_distill_end_to_end_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["--config", "tiny", "--no-progress", f"run.dir={tmp_path / 'run'}",
            f"run.report={tmp_path / 'distill.md'}", f"run.mlflow_uri=sqlite:///{tmp_path / 'mlflow.db'}"]
    assert distill.main(args) == 0
    report = (tmp_path / "distill.md").read_text()
    for row in ("teacher (plain prompts)", "student: cls", "student: all", "OOD zero-shot", "images/s"):
        assert row in report
    assert "## Visual-API primitives: student backend vs oracle" in report
    def numeric(cell: str) -> bool:
        return cell.strip().replace(".", "", 1).isdigit()

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


def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert distill.main(["--config", "tiny", "rows=[cls,bogus]"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("distill: error:") and "\n" not in err
    assert distill.main(["--config", str(tmp_path / "missing.yaml")]) == 2
