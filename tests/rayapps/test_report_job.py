"""`rayapps.report` end to end on the tiny profile: one seed, with and without corrections,
each run its own process and Ray cluster (so the session's shared cluster is stopped).
The plain run is a copy of the session's tiny run, which the report resumes (re-distilling
after iteration 1), as it resumes any run a crash or an earlier report left."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from tiny_run import TinyRun

from rayapps.report import main
from visrep.config import load_config
from visrep.selftrain.rundir import RunDir
from visrep.world import build_world_from, load_tasks

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _corrections(path: Path, world: Path) -> Path:
    """A filled corrections file for the tiny world: reference programs of three training tasks."""
    tasks = load_tasks(build_world_from(world, load_config("tiny").world).dir, "train")[:3]
    path.write_text("".join(json.dumps({"task_id": t.id, "kind": t.kind, "text": t.text,
                                        "body": t.meta["reference"]}) + "\n" for t in tasks))
    return path


def test_report_runs_seeds_branches_corrections_and_writes_the_document(
        tiny_run: TinyRun, tmp_path: Path, no_ray_cluster: None, capsys: pytest.CaptureFixture[str]) -> None:
    corrections = _corrections(tmp_path / "corrections.jsonl", tmp_path / "world")
    uri = tiny_run.copy(tmp_path / "runs", "seed0").mlflow_uri
    argv = ["--config", "tiny", "--seeds", "0", "--iterations", "1", "--corrections", str(corrections),
            "--corrections-from", "1", "--redistill-every", "1", "--runs", str(tmp_path / "runs"),
            "--out", str(tmp_path / "docs"), f"run.mlflow_uri={uri}", *tiny_run.overrides,
            "redistill.control=false"]  # the control arm: test_student_backend_e2e (~50 s per run here)
    assert main(argv) == 0
    plain, branch = RunDir(tmp_path / "runs" / "seed0"), RunDir(tmp_path / "runs" / "seed0-corrections")
    assert plain.done(1, "eval") and branch.done(1, "eval")
    # the branch shares iteration 0 (hard links) and redid only iteration 1, with corrections
    assert (branch.checkpoint(0) / "config.json").stat().st_ino == (plain.checkpoint(0) / "config.json").stat().st_ino
    assert branch.stage_info(1, "improve")["improve/examples_corrections"] > 0
    assert not plain.stage_info(1, "improve").get("improve/examples_corrections")
    doc = (tmp_path / "docs" / "selftrain.md").read_text()
    for kind in ("detect", "vqa", "retrieve"):
        assert f"| {kind} | seen | paraphrase | novel | unseeded | all |" in doc
        assert (tmp_path / "docs" / f"selftrain_{kind}.png").is_file()
    assert "| with corrections, iteration 1 |" in doc and "| warm start (seeds only) |" in doc
    assert "## The paper's claims, as measured" in doc and "corrections carry the policy" in doc
    assert plain.done(1, "redistill") and "### Re-distillation after iteration 1" in doc  # --redistill-every 1
    assert "same programs, oracle tools" in doc  # the tiny profile's tools are the student's
    client = mlflow.tracking.MlflowClient(uri)
    (report,) = client.search_runs([client.get_experiment_by_name("visrep-tiny").experiment_id],
                                   "attributes.run_name = 'report'")
    names = {a.path for a in client.list_artifacts(report.info.run_id, "report")}
    assert names == {"report/selftrain.md", *(f"report/selftrain_{k}.png" for k in ("detect", "vqa", "retrieve"))}
    assert [m.step for m in client.get_metric_history(report.info.run_id, "report/selftrained/vqa/all")] == [0, 1]


def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", "tiny", "--corrections", str(tmp_path / "none.jsonl"), "--runs", str(tmp_path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("report: error: corrections file ") and "does not exist" in line
    assert not any(tmp_path.iterdir())  # nothing run, nothing written
