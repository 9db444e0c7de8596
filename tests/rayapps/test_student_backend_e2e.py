"""`rayapps.distill` (tiny) makes a student dir that `rayapps.selftrain visual.backend=student` runs on."""

from pathlib import Path

import pandas as pd
import pytest

from rayapps.distill import main as distill_main
from rayapps.selftrain import main as selftrain_main
from visrep.selftrain import trajectories as T
from visrep.vlm.student import StudentDir

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_selftrain_with_the_distilled_student_backend(tmp_path: Path, ray_cluster: None) -> None:
    db = f"run.mlflow_uri=sqlite:///{tmp_path}/mlflow.db"
    assert distill_main(["--config", "tiny", "--no-progress", f"run.dir={tmp_path / 'distill'}", db,
                         f"run.report={tmp_path / 'distill.md'}"]) == 0
    student = StudentDir(tmp_path / "distill" / "student")
    assert student.has_student() and student.ready_for_tools()
    run = tmp_path / "run"
    assert selftrain_main(["--config", "tiny", f"run.dir={run}", db, "visual.backend=student",
                           f"visual.student_dir={student.root}"]) == 0
    grow = pd.read_parquet(run / "iter_001" / "grow.parquet")
    assert len(grow) > 0 and set(grow[T.STATUS]) <= {"ok", "rejected", "error", "timeout", "memory"}
