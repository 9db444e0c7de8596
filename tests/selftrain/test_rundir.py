"""The run directory's guard: a rerun resumes only with the config that made what it holds."""

import shutil
from pathlib import Path

import pytest
import yaml

from visrep.cli import SetupError
from visrep.config import load_config
from visrep.selftrain.rundir import RunDir, prepare_run_dir


def _first_start(tmp_path: Path) -> RunDir:
    rd = RunDir(tmp_path / "run")
    prepare_run_dir(rd, load_config("tiny"))
    return rd


def test_first_start_writes_the_config_and_a_rerun_resumes(tmp_path: Path) -> None:
    rd = _first_start(tmp_path)
    written = yaml.safe_load((rd.root / "config.yaml").read_text())
    assert written["sampler"]["k"] == load_config("tiny").sampler.k
    assert isinstance(written["world"]["kinds"], list)  # tuples come back as lists, still "unchanged"
    prepare_run_dir(rd, load_config("tiny"))


@pytest.mark.parametrize("override", ["run.iterations=7", "run.mlflow_uri=sqlite:///x.db", "run.dir=/elsewhere",
                                      "selftrain.corrections_file=fixes.jsonl", "selftrain.corrections_from=4"])
def test_resumable_changes_are_allowed_and_recorded(tmp_path: Path, override: str) -> None:
    rd = _first_start(tmp_path)
    prepare_run_dir(rd, load_config("tiny", [override]))
    key, value = override.split("=")
    section, name = key.split(".")
    assert str(yaml.safe_load((rd.root / "config.yaml").read_text())[section][name]) == value


def test_other_changes_are_refused_naming_every_key(tmp_path: Path) -> None:
    rd = _first_start(tmp_path)
    with pytest.raises(SetupError, match=r"holds a run with a different config \(learner.lr, world.kinds\); "
                                         "use a new run.dir to start over"):
        prepare_run_dir(rd, load_config("tiny", ["learner.lr=0.5", "world.kinds=[vqa]"]))


def test_a_reused_checkpoint_lives_in_the_run_dir_and_replaces_a_crashed_attempt(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run")
    base = tmp_path / "cache" / "base"
    (base / "sub").mkdir(parents=True)
    (base / "model.safetensors").write_bytes(b"weights")
    (base / "sub" / "config.json").write_text("{}")
    rd.checkpoint(1).parent.mkdir(parents=True)
    rd.checkpoint(1).symlink_to(base)  # what a crash after the link, before the marker, left
    rd.reuse_checkpoint(1, base)
    rd.reuse_checkpoint(1, base)  # and again: a rerun of the stage
    ckpt = rd.checkpoint(1)
    assert ckpt.is_dir() and not ckpt.is_symlink()
    assert (ckpt / "model.safetensors").stat().st_ino == (base / "model.safetensors").stat().st_ino  # no copy
    shutil.rmtree(tmp_path / "cache")  # a cleared model cache
    assert (ckpt / "model.safetensors").read_bytes() == b"weights" and (ckpt / "sub" / "config.json").is_file()
    assert [p.name for p in ckpt.parent.iterdir()] == ["checkpoint"]  # nothing left aside


def test_run_dir_markers(tmp_path: Path) -> None:
    rd = RunDir(tmp_path)
    assert not rd.done(1, "grow")
    rd.mark_done(1, "grow", {"grow/reward/vqa": 0.5})
    assert rd.done(1, "grow") and rd.stage_info(1, "grow") == {"grow/reward/vqa": 0.5}
    assert rd.trajectories(2, "eval") == tmp_path / "iter_002" / "eval.parquet"


def test_a_finished_stage_whose_output_was_truncated_or_removed_stops_the_rerun(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run")
    grow = rd.trajectories(1, "grow")
    grow.parent.mkdir(parents=True)
    grow.write_bytes(b"PAR1" + bytes(1000) + b"PAR1")
    ckpt = rd.checkpoint(1)
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}")
    (ckpt / "model.safetensors").write_bytes(bytes(4096))
    rd.mark_done(1, "grow", {"grow/reward/vqa": 0.5}, [grow])
    rd.mark_done(1, "improve", {}, [ckpt])
    assert rd.done(1, "grow") and rd.done(1, "improve")
    assert rd.stage_info(1, "grow") == {"grow/reward/vqa": 0.5}  # the record is not a metric

    (ckpt / "model.safetensors").write_bytes(bytes(100))  # truncated weights
    with pytest.raises(SetupError, match=r"model\.safetensors changed since iteration 1's improve finished; "
                                         r"delete .*iter_001/improve\.done"):
        rd.done(1, "improve")
    grow.write_bytes(b"PAR1" + bytes(999) + b"XPAR1")  # same size, other bytes
    with pytest.raises(SetupError, match=r"grow\.parquet changed"):
        rd.done(1, "grow")
    grow.unlink()
    with pytest.raises(SetupError, match=r"grow\.parquet is missing"):
        rd.done(1, "grow")


def test_a_marker_written_before_outputs_were_recorded_still_counts(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run")
    rd.iteration(1).mkdir(parents=True)
    (rd.iteration(1) / "eval.done").write_text('{"eval/reward/vqa": 1.0}')
    assert rd.done(1, "eval") and rd.stage_info(1, "eval") == {"eval/reward/vqa": 1.0}
