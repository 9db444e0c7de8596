"""The self-training report from run directories' stage markers: rows, spread over seeds,
the claims measured (met or not), the curves and the document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from visrep.selftrain.curves import plot_kind
from visrep.selftrain.report import (
    ALL,
    BASELINE_ROWS,
    build_report,
    claims,
    markdown_document,
    markdown_table,
    stage_seconds,
    trivial_lines,
)
from visrep.selftrain.rundir import RunDir
from visrep.world.records import Task

KINDS, SPLITS = ["detect", "vqa"], ["paraphrase", "novel", "unseeded"]


def _marker(root: Path, i: int, stage: str, info: dict[str, float]) -> None:
    RunDir(root).mark_done(i, stage, info)


def _accuracy(phase: str, value: float) -> dict[str, float]:
    """Every kind and split at ``value`` (and each kind's total)."""
    info = {f"{phase}/reward/{k}/{s}": value for k in KINDS for s in SPLITS}
    return {**info, **{f"{phase}/reward/{k}": value for k in KINDS}}


def _run(root: Path, curve: list[float], corrections_from: int = 0, corrected: float = 0.0) -> RunDir:
    """A finished run: baselines at iteration 0, one eval per iteration at ``curve[i]``;
    from ``corrections_from`` on (when set) improve used corrections and eval is ``corrected``."""
    _marker(root, 0, "passthrough", _accuracy("passthrough", 0.05))
    _marker(root, 0, "reference", _accuracy("reference", 1.0))
    for i, value in enumerate(curve):
        with_corrections = bool(corrections_from) and i >= corrections_from
        _marker(root, i, "eval", _accuracy("eval", corrected if with_corrections else value))
        if i:
            _marker(root, i, "improve", {"improve/examples_corrections": 5.0 if with_corrections else 0.0})
    return RunDir(root)


def test_rows_are_mean_and_spread_over_seeds(tmp_path: Path) -> None:
    runs = [_run(tmp_path / "a", [0.0, 0.2, 0.4]), _run(tmp_path / "b", [0.0, 0.4, 0.4])]
    report = build_report(runs, [], 2, KINDS, SPLITS)
    assert list(report.baselines) == ["passthrough", "reference"]  # fewshot not measured: no row
    assert [r.iteration for r in report.trained] == [0, 1, 2] and not report.corrected
    first = report.trained[1].cells[("vqa", "novel")]
    assert (first.mean, round(first.sd, 4), first.n) == (pytest.approx(0.3), 0.1414, 2)
    assert str(first) == "0.30 ± 0.14"
    table = markdown_table(report, "vqa").splitlines()
    assert table[0] == "| vqa | paraphrase | novel | unseeded | all |"
    assert table[2].startswith(f"| {BASELINE_ROWS['passthrough']} | 0.05 ± 0.00 |")
    assert table[-1] == "| self-trained, iteration 2 | 0.40 ± 0.00 | 0.40 ± 0.00 | 0.40 ± 0.00 | 0.40 ± 0.00 |"


def test_claims_can_fail_and_can_hold(tmp_path: Path) -> None:
    flat = build_report([_run(tmp_path / "flat", [0.0, 0.05, 0.06, 0.07])], [], 3, KINDS, SPLITS)
    assert [c.met for c in claims(flat)] == [False, False, False, True]  # no gain, but saturated
    assert "detect 0.00 → 0.07 (+0.07)" in claims(flat)[0].figures
    plain = _run(tmp_path / "up", [0.0, 0.3, 0.5, 0.51, 0.52])
    branch = _run(tmp_path / "up-corrections", [0.0, 0.3, 0.5, 0.51, 0.52], corrections_from=3, corrected=0.7)
    report = build_report([plain], [branch], 4, KINDS, SPLITS)
    assert [r.iteration for r in report.corrected] == [3, 4]  # only iterations improved with corrections
    measured = claims(report)
    assert [c.met for c in measured] == [True, True, True, True, True]
    assert measured[-1].figures == "0.52 → 0.70 (+0.18)"


def test_trivial_strategies_are_measured_on_the_same_tasks() -> None:
    def task(kind: str, split: str, annotation: dict, images: int = 1) -> Task:
        return Task(f"{kind}/{split}", kind, "t", tuple(f"i{n}" for n in range(images)), annotation, split)

    train = [task("vqa", "train", {"answer": "no"}), task("vqa", "train", {"answer": "no"}),
             task("vqa", "train", {"answer": "2"})]
    heldout = [task("vqa", "novel", {"answer": "no"}), task("vqa", "seen", {"answer": "yes"}),
               task("retrieve", "seen", {"index": 0}, images=4), task("detect", "novel", {"boxes": []})]
    assert trivial_lines(train, heldout) == [
        "vqa, always answering the commonest training answer ('no'): novel 1.00, seen 0.00",
        "retrieve, a random candidate (expected): seen 0.25",
        "detect, no box at all: novel 1.00",
    ]


def test_curves_and_document(tmp_path: Path) -> None:
    report = build_report([_run(tmp_path / "r", [0.0, 0.1])], [], 1, KINDS, SPLITS)
    png = plot_kind(report, "vqa", tmp_path / "out" / "selftrain_vqa.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = markdown_document(report, ["world: tiny"], ["vqa: nothing"], {"vqa": png.name})
    assert "- world: tiny" in doc and "**NOT met**: self-trained beats the warm start" in doc
    assert "![vqa](selftrain_vqa.png)" in doc and "| detect | paraphrase | novel | unseeded | all |" in doc
    assert json.dumps(report.trained[0].cells[("vqa", ALL)].mean) == "0.0"


def test_stage_seconds_sum_the_time_metrics_from_an_iteration_on(tmp_path: Path) -> None:
    rd = RunDir(tmp_path)
    _marker(tmp_path, 0, "eval", {"time/eval_s": 10.0, "eval/reward/vqa": 0.5})
    _marker(tmp_path, 1, "grow", {"time/grow_s": 20.0})
    _marker(tmp_path, 1, "improve", {"time/improve_s": 5.5, "improve/examples": 3.0})
    assert stage_seconds(rd) == 35.5 and stage_seconds(rd, 1) == 25.5
