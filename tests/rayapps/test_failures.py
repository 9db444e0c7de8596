"""`rayapps.failures.main` on a tiny real run writes a fillable file; the filled file joins
the same run's next iteration through `rayapps.selftrain.main`, on a real local Ray cluster."""

import json
from pathlib import Path

import pytest
from tiny_run import TinyRun

from rayapps import failures, selftrain
from visrep.selftrain.rundir import RunDir
from visrep.world import load_tasks


@pytest.mark.ray
@pytest.mark.slow
def test_failures_of_a_tiny_run_are_corrected_in_its_next_iteration(
        tiny_run: TinyRun, tmp_path: Path, ray_cluster: None, capsys: pytest.CaptureFixture[str]) -> None:
    tiny_run = tiny_run.copy(tmp_path / "copy")  # extended with corrections below
    run = tiny_run.dir
    capsys.readouterr()
    assert failures.main(["--run", str(run), "--limit", "5"]) == 0
    out = capsys.readouterr().out
    todo = run / "corrections_todo.jsonl"
    assert out.startswith(f"failures after iteration 1 of {run}")
    assert f"to {todo}: fill in each \"body\"" in out and "selftrain.corrections_from=2" in out
    lines = [json.loads(line) for line in todo.read_text().splitlines()]
    assert 0 < len(lines) <= 5  # the session's one-call policy fails most training tasks
    train = {t.id for t in load_tasks(run / "world", "train")}
    for line in lines:
        assert line["task_id"] in train and line["body"] == "" and line["sampled"] and line["iteration"] == 1

    filled = tmp_path / "filled.jsonl"
    filled.write_text("".join(json.dumps(line | {"body": "return image.find(\"objects\")"}) + "\n" for line in lines))
    markers = {p: p.stat().st_mtime_ns for p in run.rglob("*.done")}
    assert selftrain.main(tiny_run.args("run.iterations=2", f"selftrain.corrections_file={filled}",
                                        "selftrain.corrections_from=2")) == 0
    rd = RunDir(run)
    assert rd.stage_info(1, "improve")["improve/examples_corrections"] == 0
    assert rd.stage_info(2, "improve")["improve/examples_corrections"] == len(lines)
    assert rd.done(2, "eval")
    assert {p: p.stat().st_mtime_ns for p in markers} == markers  # extending a run does only iteration 2


def test_not_a_run_dir_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert failures.main(["--run", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"failures: error: {tmp_path} is not a run directory (no config.yaml)"]
