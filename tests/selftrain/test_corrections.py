"""Corrections after saturation, without Ray: the file to fill in lists the training tasks a
synthetic run still fails (with what it sampled, never a held-out task), and a filled file
becomes training pairs apart from the seeds, or a one-line error naming its fault."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from visrep.cli import SetupError
from visrep.config import Config, load_config
from visrep.programs.records import ExecResult, Program
from visrep.rewards.records import Reward
from visrep.selftrain import trajectories as T
from visrep.selftrain.corrections import (
    check_joins_later,
    config_corrections,
    corrections_at,
    load_corrections,
    write_corrections,
)
from visrep.selftrain.examples import SOURCE_CORRECTIONS, SOURCE_SEEDS, Seed, program_examples, training_examples
from visrep.selftrain.failures import FailureReport, read_failures
from visrep.selftrain.rundir import RunDir, prepare_run_dir
from visrep.selftrain.tasks import loop_tasks, run_world
from visrep.world.records import Task

K = 3


def _row(iteration: int, phase: str, sample: int, task: Task, body: str, reward: float,
         status: str = "ok", error: str = "") -> dict:
    source = "def execute_command(image):\n" + "".join(f"    {line}\n" for line in body.splitlines())
    return T.make_row(iteration, phase, sample, task, Program(task.id, source, body), ExecResult(status, error=error),
                      Reward(reward))


def _grow(iteration: int, train: list[Task], solved: set[str]) -> list[dict]:
    """K programs per task: a solved task has one at reward 1; a failed one samples the same
    wrong program twice (formatted apart) and one that errs."""
    rows = []
    for task in train:
        bodies = [("return 0", 0.0, "ok", ""), ("return  0  # again", 0.0, "ok", ""),
                  ("return image.nothing()", 0.0, "error", "line 1: no attribute 'nothing'")]
        if task.id in solved:
            bodies[0] = ("return 1", 1.0, "ok", "")
        rows += [_row(iteration, "grow", s, task, *b) for s, b in enumerate(bodies)]
    return rows


class Run:
    """A synthetic run dir: the tiny config and world, two finished iterations and a third
    with a grow but no evaluation yet (so iteration 2 is the last one to read)."""

    def __init__(self, root: Path) -> None:
        self.rd = RunDir(root)
        self.cfg: Config = load_config("tiny", [f"run.dir={root}"])
        prepare_run_dir(self.rd, self.cfg)
        world = run_world(root, self.cfg.world)
        self.train, self.heldout = loop_tasks(world, self.cfg.world.kinds, self.cfg.selftrain.eval_tasks,
                                              self.cfg.run.seed)
        # iteration 1 fails everything; iteration 2 solves every third training task
        self.solved = {t.id for t in self.train[::3]}
        self.failed = [t.id for t in self.train if t.id not in self.solved]
        self.heldout_failed = {t.id for t in self.heldout[1::2]}
        for i, solved in ((1, set()), (2, self.solved), (3, {t.id for t in self.train})):
            T.write_rows(_grow(i, self.train, solved), self.rd.trajectories(i, "grow"))
            self.rd.mark_done(i, "grow", {})
        for i in (1, 2):
            T.write_rows([_row(i, "eval", 0, t, "return 0", 0.0 if t.id in self.heldout_failed else 1.0)
                          for t in self.heldout], self.rd.trajectories(i, "eval"))
            self.rd.mark_done(i, "eval", {})


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return Run(tmp_path_factory.mktemp("corrections") / "run")


@pytest.fixture(scope="module")
def report(run: Run) -> FailureReport:
    return read_failures(run.rd, limit=1000)


def test_todo_lists_every_failed_training_task_of_the_last_iteration_and_no_heldout_one(
        run: Run, report: FailureReport) -> None:
    assert report.iteration == 2
    assert sorted(c.task_id for c in report.todo) == sorted(run.failed)
    assert not {c.task_id for c in report.todo} & {t.id for t in run.heldout}
    tasks = {t.id: t for t in run.train}
    for c in report.todo:
        task = tasks[c.task_id]
        assert (c.kind, c.text, c.template) == (task.kind, task.text, task.meta["template"])
        assert (c.run, c.iteration, c.body) == (str(run.rd.root), 2, "")
        # the two formattings of "return 0" are one program, sampled twice; the erring one apart
        assert [(s.body, s.status, s.reward, s.count) for s in c.sampled] == \
            [("return 0", "ok", 0.0, 2), ("return image.nothing()", "error", 0.0, 1)]
        assert c.sampled[1].error == "line 1: no attribute 'nothing'"


def test_families_count_training_and_heldout_failures_most_first(run: Run, report: FailureReport) -> None:
    def family(task: Task) -> tuple[str, str]:
        return task.kind, task.meta["template"]

    for f in report.families:
        in_train = [t for t in run.train if family(t) == (f.kind, f.template)]
        in_heldout = [t for t in run.heldout if family(t) == (f.kind, f.template)]
        assert f.train_failed == tuple(t.id for t in in_train if t.id in run.failed)
        assert (f.train_tasks, f.heldout_tasks) == (len(in_train), len(in_heldout))
        assert f.heldout_failed == len([t for t in in_heldout if t.id in run.heldout_failed])
    counts = [(len(f.train_failed), f.heldout_failed) for f in report.families]
    assert counts == sorted(counts, reverse=True)
    table = report.table()
    assert table.splitlines()[0] == f"failures after iteration 2 of {run.rd.root} (a task fails below reward 1)"
    assert table.splitlines()[-1].split() == ["total", f"{len(run.failed)}/{len(run.train)}",
                                              f"{len(run.heldout_failed)}/{len(run.heldout)}"]


def test_limit_takes_the_failing_families_in_turn(run: Run, report: FailureReport) -> None:
    failing = [f for f in report.families if f.train_failed]
    assert len(failing) > 1 and any(len(f.train_failed) > 1 for f in failing)
    first_round = read_failures(run.rd, limit=len(failing)).todo
    assert [c.task_id for c in first_round] == [f.train_failed[0] for f in failing]


def _filled(run: Run, report: FailureReport, path: Path, bodies: dict[int, str] | None = None) -> Path:
    """The todo file, written, with each body filled in (or as ``bodies`` says, by line)."""
    write_corrections(report.todo[:4], path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for n, line in enumerate(lines, 1):
        line["body"] = (bodies or {}).get(n, "objects = image.find(\"objects\")\nreturn objects")
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_written_file_is_fillable_and_never_overwritten(run: Run, report: FailureReport, tmp_path: Path) -> None:
    path = tmp_path / "todo.jsonl"
    write_corrections(report.todo, path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["task_id"] for line in lines] == [c.task_id for c in report.todo]
    assert set(lines[0]) == {"task_id", "kind", "text", "template", "run", "iteration", "sampled", "body"}
    assert lines[0]["body"] == "" and lines[0]["sampled"][0]["body"] == "return 0"
    with pytest.raises(SetupError, match="todo.jsonl exists"):
        write_corrections(report.todo, path)


def test_filled_file_becomes_training_pairs_apart_from_the_seeds(run: Run, report: FailureReport,
                                                                  tmp_path: Path) -> None:
    path = _filled(run, report, tmp_path / "fixes.jsonl")
    st = replace(run.cfg.selftrain, corrections_file=str(path), corrections_from=3)
    corrections = config_corrections(st, run.train)
    assert [c.task_id for c in corrections] == [c.task_id for c in report.todo[:4]]
    assert corrections_at(2, st, corrections) == [] and corrections_at(3, st, corrections) == corrections
    seeds = [Seed(run.train[0].id, run.train[0].kind, run.train[0].text, "return 1")]
    parts = training_examples([], {}, seeds, corrections_at(3, st, corrections), run.cfg.prompt, keep_seeds=True)
    assert parts[SOURCE_CORRECTIONS] == program_examples(corrections, seeds, run.cfg.prompt)
    assert parts[SOURCE_CORRECTIONS][0][1] == "    objects = image.find(\"objects\")\n    return objects\n"
    assert parts[SOURCE_SEEDS] == program_examples(seeds, seeds, run.cfg.prompt)


def test_empty_body_is_an_error_naming_the_line(run: Run, report: FailureReport, tmp_path: Path) -> None:
    path = _filled(run, report, tmp_path / "fixes.jsonl", {2: "  \n"})
    with pytest.raises(ValueError, match=rf"^{path}:2: correction for {report.todo[1].task_id} has no body: "
                                         "fill it in or delete the line$"):
        load_corrections(path, {t.id: t for t in run.train})


@pytest.mark.parametrize("which", ["unknown", "heldout"])
def test_correction_of_a_task_not_in_training_is_an_error(run: Run, report: FailureReport, tmp_path: Path,
                                                          which: str) -> None:
    path = _filled(run, report, tmp_path / "fixes.jsonl")
    lines = path.read_text().splitlines()
    task = run.heldout[0]
    first = json.loads(lines[0]) | ({"task_id": "vqa/999999"} if which == "unknown" else
                                    {"task_id": task.id, "kind": task.kind, "text": task.text})
    path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    with pytest.raises(ValueError, match=rf"^{path}:1: correction for {first['task_id']}: "
                                         "not a training task of the run's world"):
        load_corrections(path, {t.id: t for t in run.train})


def test_body_that_does_not_parse_or_changed_text_is_an_error(run: Run, report: FailureReport,
                                                               tmp_path: Path) -> None:
    path = _filled(run, report, tmp_path / "fixes.jsonl", {3: "return (("})
    with pytest.raises(ValueError, match=rf"^{path}:3: correction for .*: the body does not parse"):
        load_corrections(path, {t.id: t for t in run.train})
    path = _filled(run, report, tmp_path / "other.jsonl")
    lines = path.read_text().splitlines()
    path.write_text(json.dumps(json.loads(lines[0]) | {"text": "something else"}) + "\n")
    with pytest.raises(ValueError, match=rf"^{path}:1: correction for .*: kind and text differ"):
        load_corrections(path, {t.id: t for t in run.train})


def test_file_and_iteration_go_together(run: Run, tmp_path: Path) -> None:
    st = run.cfg.selftrain
    assert config_corrections(st, run.train) == []
    with pytest.raises(SetupError, match="corrections_from is set but selftrain.corrections_file is empty"):
        config_corrections(replace(st, corrections_from=2), run.train)
    with pytest.raises(SetupError, match="corrections_from must name the first iteration"):
        config_corrections(replace(st, corrections_file=str(tmp_path / "x.jsonl")), run.train)
    with pytest.raises(SetupError, match="x.jsonl does not exist"):
        config_corrections(replace(st, corrections_file=str(tmp_path / "x.jsonl"), corrections_from=2), run.train)


def test_corrections_cannot_join_an_iteration_improved_without_them(tmp_path: Path) -> None:
    rd = RunDir(tmp_path)
    rd.mark_done(1, "improve", {"improve/examples_corrections": 0.0})
    rd.mark_done(2, "improve", {"improve/examples_corrections": 3.0})
    st = load_config("tiny").selftrain
    with pytest.raises(SetupError, match="iteration 1 of .* is already improved without corrections"):
        check_joins_later(rd, replace(st, corrections_file="f", corrections_from=1))
    check_joins_later(rd, replace(st, corrections_file="f", corrections_from=2))  # improved with them: resumes
    check_joins_later(rd, replace(st, corrections_file="f", corrections_from=3))


def test_run_without_a_finished_iteration_is_an_error(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run")
    prepare_run_dir(rd, load_config("tiny", [f"run.dir={rd.root}"]))
    rd.mark_done(1, "grow", {})
    with pytest.raises(ValueError, match="no iteration with a finished grow and evaluation yet"):
        read_failures(rd, limit=5)
    with pytest.raises(SetupError, match="is not a run directory"):
        read_failures(RunDir(tmp_path / "nothing"), limit=5)
