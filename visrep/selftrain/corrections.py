"""Corrections: programs a person writes, after self-training saturates, for the training
tasks the policy still fails (the paper's "fewer than 50 human corrections").

Seeds and corrections are both hand-written programs, in the same JSON-lines format and
read by the same loader (``examples.read_programs``), but they are kept apart because they
answer different questions: seeds (``warm_start.seeds_file``) exist before training and
start the policy; corrections are written from a run's failures (``python -m
rayapps.failures`` writes the file to fill in) and join improve from
``selftrain.corrections_from`` on, so the learning curve shows what self-training reached
alone and what the corrections add after it.  Each line of a corrections file carries its
provenance (the family, the run and iteration it was written from); the file ``failures``
writes also lists what the policy sampled for the task, and leaves the body empty.

Only training tasks may be corrected: a program written for a held-out task would teach the
policy the answer it is evaluated on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from visrep.cli import SetupError, resolve_path
from visrep.config import SelfTrainConfig
from visrep.programs.text import as_source
from visrep.programs.validate import ProgramRejected, parse_program
from visrep.selftrain.examples import SOURCE_CORRECTIONS, Seed, examples_key, read_programs
from visrep.selftrain.rundir import RunDir
from visrep.world.records import Task


@dataclass(frozen=True)
class SampledProgram:
    """One distinct program the policy sampled for a failed task, with how it ended."""

    body: str
    status: str
    error: str
    reward: float
    count: int  # how many of the task's K samples were this program


@dataclass(frozen=True)
class Correction:
    """One line of a corrections file: a training task, where its failure was seen, and the
    body a person writes (empty in the file ``failures`` writes)."""

    task_id: str
    kind: str
    text: str
    template: str
    run: str
    iteration: int
    sampled: tuple[SampledProgram, ...]
    body: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def write_corrections(corrections: list[Correction], path: Path) -> None:
    """The file to fill in, a line per correction; an existing file is never overwritten (it
    may hold a person's work), so that is a SetupError."""
    if path.exists():
        raise SetupError(f"{path} exists (it may hold filled-in corrections): move it or write elsewhere")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(c.to_json() + "\n" for c in corrections))


def load_corrections(path: Path, train: dict[str, Task]) -> list[Seed]:
    """The corrections of a filled-in file, as programs like the seeds.  Each must have a body
    that parses and name a training task of the run's world (by id, with its kind and text);
    anything else is a one-line ValueError naming the file and line."""
    corrections = []
    for n, program in read_programs(path, "correction"):
        where = f"{path}:{n}: correction for {program.task_id}"
        if not program.body.strip():
            raise ValueError(f"{where} has no body: fill it in or delete the line")
        task = train.get(program.task_id)
        if task is None:
            raise ValueError(f"{where}: not a training task of the run's world "
                             "(only training tasks are corrected; a held-out one would leak)")
        if (task.kind, task.text) != (program.kind, program.text):
            raise ValueError(f"{where}: kind and text differ from the world's task ({task.kind}: {task.text!r})")
        try:
            parse_program(as_source(program.body))
        except ProgramRejected as exc:
            raise ValueError(f"{where}: the body does not parse ({exc})") from None
        corrections.append(program)
    if not corrections:
        raise ValueError(f"{path}: no corrections in the file")
    return corrections


def config_corrections(cfg: SelfTrainConfig, train: list[Task]) -> list[Seed]:
    """The corrections the config names (none when neither setting is set).  The file and the
    iteration they join go together: one without the other is a SetupError, not ignored."""
    if not cfg.corrections_file and not cfg.corrections_from:
        return []
    if not cfg.corrections_file:
        raise SetupError("selftrain.corrections_from is set but selftrain.corrections_file is empty")
    if cfg.corrections_from < 1:
        raise SetupError("selftrain.corrections_file is set: selftrain.corrections_from must name "
                         "the first iteration (>= 1) whose improve uses it")
    path = resolve_path(cfg.corrections_file)
    if not path.is_file():
        raise SetupError(f"selftrain.corrections_file {path} does not exist")
    return load_corrections(path, {t.id: t for t in train})


def corrections_at(i: int, cfg: SelfTrainConfig, corrections: list[Seed]) -> list[Seed]:
    """The corrections iteration ``i``'s improve trains on: all of them from
    ``corrections_from`` on (like the seeds, they stay in every later iteration), else none."""
    return corrections if cfg.corrections_from and i >= cfg.corrections_from else []


def check_joins_later(rd: RunDir, cfg: SelfTrainConfig) -> None:
    """Refuse corrections joining at an iteration the run already improved without them: a
    finished stage is not redone, so they would silently start one iteration later."""
    i = cfg.corrections_from
    if i and rd.done(i, "improve") and not rd.stage_info(i, "improve").get(examples_key(SOURCE_CORRECTIONS)):
        raise SetupError(f"iteration {i} of {rd.root} is already improved without corrections: "
                         "set selftrain.corrections_from to an iteration not improved yet")
