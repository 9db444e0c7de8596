"""Filtering, metrics and trajectory files."""

from pathlib import Path

import pandas as pd
import pytest

from visrep.programs.records import ExecResult, Program
from visrep.rewards.records import Reward
from visrep.selftrain import trajectories as T
from visrep.selftrain.filtering import program_key, select_for_training
from visrep.selftrain.metrics import (
    accuracy_json,
    accuracy_markdown,
    accuracy_table,
    heldout_table,
    phase_metrics,
    solve_rate,
    table_splits,
)
from visrep.world.records import Task

SRC_A = "def execute_command(image):\n    return image.exists('star')\n"
SRC_A_REFORMATTED = "def execute_command(image):\n    # a comment\n    return image.exists(  'star' )\n"
SRC_B = "def execute_command(image):\n    return image.count('star') > 0\n"


def _row(task_id: str, source: str, reward: float, status: str = "ok", kind: str = "vqa",
         split: str = "train") -> dict:
    task = Task(task_id, kind, "Is there a star?", ("img",), {"answer": "yes"}, split, meta={"template": "exist"})
    return T.make_row(1, "grow", 0, task, Program(task_id, source), ExecResult(status, "yes"),
                      Reward(reward, "d"))


def test_program_key_ignores_formatting_and_comments() -> None:
    assert program_key(SRC_A) == program_key(SRC_A_REFORMATTED)
    assert program_key(SRC_A) != program_key(SRC_B)


def test_program_key_survives_programs_nested_too_deeply_to_walk() -> None:
    for terms in (1_000, 5_000):  # ast.dump recursed past the limit at ~1,000, ast.parse at ~3,000
        source = "def execute_command(image):\n    return " + "+".join(["1"] * terms) + "\n"
        assert program_key(source) == source.strip()
    rows = [_row("t1", "def execute_command(image):\n    return " + "+".join(["1"] * 2_000) + "\n", 1.0)]
    assert len(select_for_training(rows, threshold=1.0, dedupe=True, max_per_task=1)) == 1


def test_select_keeps_rewarded_unique_capped() -> None:
    rows = [_row("t1", SRC_A, 1.0), _row("t1", SRC_A_REFORMATTED, 1.0), _row("t1", SRC_B, 1.0),
            _row("t2", SRC_A, 0.0), _row("t3", SRC_A, 1.0, status="error"), _row("t4", SRC_B, 1.0)]
    kept = select_for_training(rows, threshold=1.0, dedupe=True, max_per_task=1)
    assert [(r[T.TASK_ID], r[T.SOURCE]) for r in kept] == [("t1", SRC_A), ("t4", SRC_B)]
    kept = select_for_training(rows, threshold=1.0, dedupe=False, max_per_task=0)
    assert len(kept) == 4


def test_phase_metrics_reward_solved_status() -> None:
    rows = [_row("t1", SRC_A, 1.0), _row("t1", SRC_B, 0.0), _row("t2", SRC_A, 0.0, status="timeout"),
            _row("d1", SRC_A, 1.0, kind="detect")]
    m = phase_metrics(rows, "grow")
    assert m["grow/reward/vqa"] == 1 / 3
    assert m["grow/solved/vqa"] == 0.5
    assert m["grow/solved/detect"] == 1.0
    assert m["grow/status/timeout"] == 1.0 and m["grow/status/ok"] == 3.0
    assert m["grow/status/memory"] == 0.0


def test_solve_rate_is_the_mean_over_kinds_of_their_solved_fractions() -> None:
    rows = [_row("t1", SRC_A, 1.0), _row("t1", SRC_B, 0.0), _row("t2", SRC_A, 0.0),
            _row("d1", SRC_A, 1.0, kind="detect")]
    m = phase_metrics(rows, "probe")
    assert solve_rate(rows) == (m["probe/solved/detect"] + m["probe/solved/vqa"]) / 2 == 0.75
    assert solve_rate([]) == 0.0


def test_heldout_table_has_a_row_per_evaluated_iteration_and_a_column_per_kind_and_split() -> None:
    rows = [_row("v1", SRC_A, 1.0, split="seen"), _row("v2", SRC_A, 0.0, split="novel")]
    evals = {0: phase_metrics(rows, "eval"), 2: {"eval/reward/vqa": 0.5, "eval/reward/vqa/novel": 0.25}}
    table = heldout_table(evals, ["detect", "vqa"], ["seen", "novel"], warm_started=True)
    kinds, splits, first, second = table.splitlines()
    assert kinds.split()[2:] == ["detect"] * 3 + ["vqa"] * 3
    assert splits.split() == ["seen", "novel", "all"] * 2
    assert first.split() == ["iteration", "0", "(warm", "start)", "nan", "nan", "nan", "1.000", "0.000", "0.500"]
    assert second.split() == ["iteration", "2", "nan", "nan", "nan", "nan", "0.250", "0.500"]


def test_heldout_table_puts_the_baselines_first() -> None:
    baselines = {"passthrough": {"passthrough/reward/vqa": 0.125}}
    table = heldout_table({1: {"eval/reward/vqa": 0.5}}, ["vqa"], [], baselines)
    assert [line.split() for line in table.splitlines()[2:]] == [["baseline", "passthrough", "0.125"],
                                                                   ["iteration", "1", "0.500"]]


def test_accuracy_table_per_kind_and_split_whatever_the_split_names() -> None:
    rows = [_row("v1", SRC_A, 1.0), _row("v2", SRC_A, 0.0), _row("v3", SRC_A, 1.0, split="novel"),
            _row("d1", SRC_A, 0.5, kind="detect", split="heldout")]
    table = accuracy_table(rows)
    assert table == {"detect": {"heldout": (0.5, 1), "all": (0.5, 1)},
                     "vqa": {"train": (0.5, 2), "novel": (1.0, 1), "all": (2 / 3, 3)}}
    assert list(table) == ["detect", "vqa"]  # TASK_KINDS order, not the rows'
    assert table_splits(table) == ["heldout", "train", "novel", "all"]
    head, rule, detect, vqa = accuracy_markdown(table).splitlines()
    assert head == "| kind | heldout | train | novel | all |" and rule == "|---|---|---|---|---|"
    assert detect == "| detect | 0.500 (n=1) | - | - | 0.500 (n=1) |"
    assert vqa == "| vqa | - | 0.500 (n=2) | 1.000 (n=1) | 0.667 (n=3) |"
    assert accuracy_json(table)["vqa"]["novel"] == {"mean": 1.0, "n": 1}
    assert accuracy_table([]) == {}
    with pytest.raises(ValueError, match="split 'all' is reserved"):
        accuracy_table([_row("v1", SRC_A, 1.0, split="all")])


def test_trajectories_round_trip_and_open_in_pandas(tmp_path: Path) -> None:
    rows = [_row("t1", SRC_A, 1.0), _row("t2", SRC_B, 0.0)]
    path = tmp_path / "iter_001" / "grow.parquet"
    T.write_rows(rows, path)
    assert T.read_rows(path) == rows
    frame = pd.read_parquet(path)
    assert list(frame.columns) == T.SCHEMA.names and len(frame) == 2
    assert not list(path.parent.glob(".*tmp*"))

