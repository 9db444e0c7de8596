"""`rayapps.selftrain.main` end to end on the tiny profile, on a real local Ray cluster."""

from pathlib import Path

import pandas as pd
import pytest
from tiny_run import TinyRun

from rayapps.selftrain import main
from visrep.selftrain import trajectories as T

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _args(run: Path, *extra: str) -> list[str]:
    return ["--config", "tiny", f"run.dir={run}", f"run.mlflow_uri=sqlite:///{run.parent}/mlflow.db", *extra]


def test_tiny_profile_end_to_end_then_resume(tiny_run: TinyRun, ray_cluster: None, tmp_path: Path) -> None:
    tiny_run = tiny_run.copy(tmp_path)  # resumed and extended below
    run = tiny_run.dir
    for rel in ("iter_000/probe.parquet", "iter_000/eval.parquet", "iter_001/grow.parquet",
                "iter_001/eval.parquet", "iter_001/checkpoint/config.json",
                "iter_000/passthrough.parquet", "iter_000/reference.parquet", "iter_000/fewshot.parquet"):
        assert (run / rel).exists(), rel
    # the baselines stand beside the policy's held-out accuracy; the reference is the ceiling
    report = tiny_run.out.split("\nheld-out accuracy ")[-1].splitlines()
    assert report[1].split() == ["seen", "paraphrase", "novel", "unseeded", "all"] * 3  # per kind
    labels = [" ".join(line.split()[:2]) for line in report[2:] if line.strip() and "oracle tools" not in line]
    assert labels[:5] == ["baseline passthrough", "baseline reference", "baseline fewshot", "iteration 0",
                          "iteration 1"]
    reference = pd.read_parquet(run / "iter_000" / "reference.parquet")
    assert (reference[T.BACKEND] == "student").all()  # the tiny profile's tools read pixels
    assert (reference[T.ORACLE_REWARD] == 1.0).all()  # with the oracle's tools, the ceiling
    grow = pd.read_parquet(run / "iter_001" / "grow.parquet")
    assert list(grow.columns) == T.SCHEMA.names
    assert set(grow[T.KIND]) == {"detect", "vqa", "retrieve"}
    assert (grow.groupby(T.TASK_ID).size() == 2).all()  # k = 2 programs per task
    assert set(grow[T.STATUS]) <= {"ok", "rejected", "error", "timeout", "memory"}
    # the session's policy writes valid programs: grow ran sampled programs of every kind through
    # the sandbox and the student's tools, and the scorer graded what they returned
    ran = grow[(grow[T.STATUS] == "ok") & (grow[T.API_CALLS] > 0)]
    assert set(ran[T.KIND]) == {"detect", "vqa", "retrieve"}, grow[[T.SOURCE, T.ERROR]].to_dict("records")

    import mlflow

    client = mlflow.tracking.MlflowClient(tiny_run.mlflow_uri)
    run_id = (run / "mlflow_run_id").read_text().strip()
    history = client.get_metric_history(run_id, "eval/reward/vqa")
    assert sorted(m.step for m in history) == [0, 1]
    assert client.get_run(run_id).data.params["sampler.k"] == "2"
    # each iteration's time, stage by stage (issue 14): what sampling, execution, training and the
    # hand-off of weights each cost, beside the phases' wall times
    logged = client.get_run(run_id).data.metrics
    breakdown = ("time/grow_s", "time/grow/sample_s", "time/grow/execute_s", "time/grow/policy_load_s",
                 "time/improve_s", "time/improve/train_s", "time/improve/handoff_s", "time/eval_s",
                 "time/eval/sample_s", "time/eval/policy_load_s")
    assert all(logged[key] > 0 for key in breakdown), {key: logged.get(key) for key in breakdown}
    info = client.get_run(run_id).info
    lasted = (info.end_time - info.start_time) / 1000  # no part of the run outlasts it
    assert all(logged[key] < lasted for key in breakdown), ({key: logged[key] for key in breakdown}, lasted)
    assert logged["time/improve/train_s"] + logged["time/improve/handoff_s"] <= logged["time/improve_s"]
    # what a person sees beside the curves: each held-out program of a baseline or an
    # evaluation as a trace (the reference programs' tool calls as spans), the programs as
    # tables, boxes drawn, the report; the experiment opens on its runs
    experiment = client.get_run(run_id).info.experiment_id
    assert client.get_experiment(experiment).tags["mlflow.experimentKind"] == "custom_model_development"
    traced = client.search_traces(locations=[experiment], run_id=run_id, max_results=1000,
                                  filter_string="tag.`visrep.phase` = 'reference'")
    assert sorted(t.info.tags["visrep.task"] for t in traced) == sorted(reference[T.TASK_ID])
    spans = [s for t in traced for s in t.data.spans if s.span_type == "TOOL"]
    assert len(spans) == sum(len(T.tool_trace(r)) for r in reference.to_dict("records")) > 0
    artifacts = {a.path for d in ("programs", "report") for a in client.list_artifacts(run_id, d)}
    assert {"programs/iter_001_grow.json", "programs/iter_001_eval.json", "report/heldout_accuracy.txt"} <= artifacts
    assert client.list_artifacts(run_id, "overlays/iter_001/eval")

    markers = {p: p.stat().st_mtime_ns for p in run.rglob("*.done")}
    assert main(tiny_run.args()) == 0  # resume: every stage is already done
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*.done")} == markers
    # (extending a run by an iteration: test_failures, which extends it with corrections)


def test_changed_config_on_existing_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("sampler:\n  k: 99\n")
    assert main(_args(run)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sampler.k" in err[0]


def test_bad_override_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(tmp_path / "run", "sampler.kk=1")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("selftrain: error: unknown config key 'sampler.kk' (known: ")
    assert not (tmp_path / "run").exists()  # nothing half-written
