"""Every distillation config loads and documents its command; bad input names the key."""

from pathlib import Path

import pytest

from visrep.config import ConfigError
from visrep.vlm.config import DISTILL_DIR, ROWS, DistillConfig, load_distill_config

PROFILES = sorted(DISTILL_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_every_distill_yaml_loads_and_documents_its_command(path: Path) -> None:
    cfg = load_distill_config(str(path))
    assert isinstance(cfg, DistillConfig)
    first = path.read_text().splitlines()[0]
    assert first.startswith("# ") and "python -m rayapps.distill" in first


def test_default_and_tiny_exist_and_default_runs_all_rows() -> None:
    assert {p.stem for p in PROFILES} >= {"default", "tiny"}
    assert load_distill_config("default").rows == tuple(ROWS)


def test_teacher_precision_is_auto_and_overridable() -> None:
    cfg = load_distill_config("default")
    assert (cfg.teacher.dtype, cfg.student.dtype) == ("auto", "float32")
    assert load_distill_config("tiny", ["student.dtype=auto"]).student.dtype == "auto"


@pytest.mark.parametrize("override, message", [
    ("losses.msee=1", "unknown config key 'losses.msee'"),
    ("student.epochs=many", "student.epochs: expected int"),
    ("rows=[cls,nope]", "unknown ablation rows"),
    ("data.train_fraction=1.5", "train_fraction"),
    ("student.seeds=0", "student.seeds must be >= 1"),
    ("teacher.dtype=half", "teacher.dtype: expected one of auto, bfloat16, float32"),
])
def test_bad_overrides_are_one_line_errors(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_distill_config("tiny", [override])
