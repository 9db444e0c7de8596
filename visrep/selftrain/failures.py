"""What the policy still fails after a run's last iteration, per task family, and the
corrections to write for it (``python -m rayapps.failures``).

A family is a task kind and its generator template (the trajectory rows' ``template``
column, from ``Task.meta``).  A training task failed when none of its K programs in the last
grow reached ``selftrain.reward_threshold``: the threshold improve keeps programs by, so
these are the tasks that gave the learner nothing, where a person's program is the only
way in.  A held-out task failed when its greedy program in that iteration's evaluation did
not reach it; held-out failures are counted per family, to show where the policy falls
short, but never offered for correction (``corrections`` says why).
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from visrep.programs.text import program_body
from visrep.selftrain import trajectories as T
from visrep.selftrain.corrections import Correction, SampledProgram
from visrep.selftrain.filtering import program_key
from visrep.selftrain.rundir import RunDir, run_config
from visrep.selftrain.tasks import loop_tasks, world_dir
from visrep.world.records import TASK_KINDS, Task

Family = tuple[str, str]  # (task kind, template)


@dataclass(frozen=True)
class FamilyFailures:
    """One family's failures: the failed training tasks (ids, in row order) and counts."""

    kind: str
    template: str
    train_failed: tuple[str, ...]
    train_tasks: int
    heldout_failed: int
    heldout_tasks: int


@dataclass(frozen=True)
class FailureReport:
    """The failures of one run after one iteration, and the corrections file to fill in."""

    run: RunDir
    iteration: int
    threshold: float
    families: list[FamilyFailures]  # most training failures first
    todo: list[Correction]

    def table(self) -> str:
        """The families as a text table, with a total line."""
        width = max([len("family"), *(len(f.template) for f in self.families)])
        head = f"{'kind':<9}{'family':<{width}}  {'train failed':>13}  {'held-out failed':>15}"
        lines = [f"failures after iteration {self.iteration} of {self.run.root} "
                 f"(a task fails below reward {self.threshold:g})", head]
        for f in self.families:
            lines.append(f"{f.kind:<9}{f.template:<{width}}  {_ratio(len(f.train_failed), f.train_tasks):>13}"
                         f"  {_ratio(f.heldout_failed, f.heldout_tasks):>15}")
        train = _ratio(sum(len(f.train_failed) for f in self.families), sum(f.train_tasks for f in self.families))
        heldout = _ratio(sum(f.heldout_failed for f in self.families), sum(f.heldout_tasks for f in self.families))
        lines.append(f"{'total':<{9 + width}}  {train:>13}  {heldout:>15}")
        return "\n".join(lines)


def _ratio(failed: int, total: int) -> str:
    return f"{failed}/{total}" if total else "-"


def last_iteration(rd: RunDir) -> int:
    """The last iteration (>= 1) whose grow and evaluation both finished."""
    done = [i for i in rd.iterations() if i >= 1 and rd.done(i, "grow") and rd.done(i, "eval")]
    if not done:
        raise ValueError(f"{rd.root}: no iteration with a finished grow and evaluation yet")
    return done[-1]


def _by_task(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    tasks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        tasks[row[T.TASK_ID]].append(row)
    return tasks


def failed_tasks(rows: list[dict[str, Any]], threshold: float) -> dict[str, list[dict[str, Any]]]:
    """Task id → its rows, for the tasks none of whose programs reached ``threshold``."""
    return {tid: task_rows for tid, task_rows in _by_task(rows).items()
            if all(r[T.REWARD] < threshold for r in task_rows)}


def _per_family(rows: list[dict[str, Any]], threshold: float) -> tuple[dict[Family, list[str]],
                                                                        dict[Family, list[str]]]:
    """(family → its task ids, family → its failed task ids), in row order."""
    tasks: dict[Family, list[str]] = defaultdict(list)
    failed: dict[Family, list[str]] = defaultdict(list)
    failing = failed_tasks(rows, threshold)
    for tid, task_rows in _by_task(rows).items():
        family = (task_rows[0][T.KIND], task_rows[0][T.TEMPLATE] or "")
        tasks[family].append(tid)
        if tid in failing:
            failed[family].append(tid)
    return tasks, failed


def family_failures(grow: list[dict[str, Any]], evals: list[dict[str, Any]],
                    threshold: float) -> list[FamilyFailures]:
    """Per family, the failed training tasks of ``grow`` and the failed held-out tasks of
    ``evals``; most training failures first, then most held-out failures."""
    train, train_failed = _per_family(grow, threshold)
    heldout, heldout_failed = _per_family(evals, threshold)
    families = [FamilyFailures(kind, template, tuple(train_failed[(kind, template)]), len(train[(kind, template)]),
                               len(heldout_failed[(kind, template)]), len(heldout[(kind, template)]))
                for kind, template in {**train, **heldout}]
    kind_order = {k: n for n, k in enumerate(TASK_KINDS)}
    return sorted(families, key=lambda f: (-len(f.train_failed), -f.heldout_failed,
                                           kind_order.get(f.kind, len(kind_order)), f.kind, f.template))


def sampled_programs(rows: list[dict[str, Any]]) -> tuple[SampledProgram, ...]:
    """The distinct programs (by AST) of one task's rows, in order, with their outcome and
    how often each was sampled; bodies unindented, as a person writes one."""
    first: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        key = program_key(row[T.SOURCE])
        first.setdefault(key, row)
        counts[key] += 1
    return tuple(SampledProgram(textwrap.dedent(program_body(r[T.SOURCE])).strip("\n"), r[T.STATUS],
                                r[T.ERROR] or "", r[T.REWARD], counts[key]) for key, r in first.items())


def todo_corrections(families: list[FamilyFailures], failed: dict[str, list[dict[str, Any]]],
                     tasks: dict[str, Task], run: str, iteration: int, limit: int) -> list[Correction]:
    """A correction to fill in per failed training task, at most ``limit``, taken from the
    families in turn (round robin, in ``families`` order) so that every failing family gets
    lines before any family gets a second."""
    queues = [f.train_failed for f in families]
    rounds = max((len(q) for q in queues), default=0)
    picked = [q[r] for r in range(rounds) for q in queues if r < len(q)][:limit]
    todo = []
    for tid in picked:
        if tid not in tasks:
            raise ValueError(f"grow task {tid} is not a training task of the run's world")
        task = tasks[tid]
        todo.append(Correction(tid, task.kind, task.text, failed[tid][0][T.TEMPLATE] or "", run, iteration,
                               sampled_programs(failed[tid])))
    return todo


def read_failures(rd: RunDir, limit: int) -> FailureReport:
    """The failures of the run in ``rd`` after its last finished iteration, from its files
    (config.yaml, the world, the grow and eval trajectories); no actor is needed."""
    cfg = run_config(rd)
    i = last_iteration(rd)
    threshold = cfg.selftrain.reward_threshold
    grow, evals = T.read_rows(rd.trajectories(i, "grow")), T.read_rows(rd.trajectories(i, "eval"))
    train, _ = loop_tasks(world_dir(rd.root, cfg.world), cfg.world.kinds, cfg.selftrain.eval_tasks, cfg.run.seed,
                          cfg.world.splits)
    families = family_failures(grow, evals, threshold)
    todo = todo_corrections(families, failed_tasks(grow, threshold), {t.id: t for t in train},
                            str(rd.root), i, limit)
    return FailureReport(rd, i, threshold, families, todo)
