"""The self-training report's numbers: every row (baselines, warm start, each iteration, with
corrections) x task kind x held-out split, mean and spread over seeds, and the paper's
claims checked against them.

It reads only the stage markers of finished runs (``RunDir.stage_info``: each eval and
baseline phase recorded ``{phase}/reward/{kind}[/{split}]``), so the report can be
rebuilt from the run directories without running anything.  The claims are checked as
measured, met or not, so a report can come out badly:

- self-training beats the warm start by ``GAIN`` on ``paraphrase`` and on ``novel``, every kind;
- ``unseeded`` families go from at most ``UNSEEDED_START`` to at least ``UNSEEDED_END``
  through self-training alone (the runs without corrections);
- the curve saturates (the last ``SATURATION_WINDOW`` iterations gain less than
  ``SATURATION_GAIN`` each, over all held-out tasks), and what corrections add after it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from visrep.selftrain.examples import SOURCE_CORRECTIONS, examples_key
from visrep.selftrain.rundir import RunDir
from visrep.world.records import Task

GAIN = 0.15
UNSEEDED_START, UNSEEDED_END = 0.05, 0.30
SATURATION_WINDOW, SATURATION_GAIN = 2, 0.02
ALL = "all"
# Rows that need no training (phase name -> label), each run once per run directory.
BASELINE_ROWS = {"passthrough": "pass-through (one tool call on the task text)",
                 "fewshot": "few-shot base model (probe prompt)",
                 "reference": "reference programs (the tools' ceiling)"}


@dataclass(frozen=True)
class Cell:
    """One number of the report: mean and sample spread over seeds (0 for one seed)."""

    mean: float
    sd: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.2f} ± {self.sd:.2f}" if self.n > 1 else f"{self.mean:.2f}"


def cell(values: Sequence[float]) -> Cell:
    return Cell(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values))


def _metric(info: dict[str, float], phase: str, kind: str, split: str, metric: str = "reward") -> float | None:
    key = f"{phase}/{metric}/{kind}" + ("" if split == ALL else f"/{split}")
    return info.get(key)


@dataclass(frozen=True)
class Row:
    """One row: its label, the iteration it is at (None for a baseline) and its cells."""

    label: str
    iteration: int | None
    cells: dict[tuple[str, str], Cell]  # (kind, split) -> cell


def _row(label: str, iteration: int | None, infos: list[dict[str, float]], phase: str,
         kinds: Sequence[str], splits: Sequence[str], metric: str = "reward") -> Row:
    cells = {}
    for kind in kinds:
        for split in (*splits, ALL):
            values = [v for info in infos if (v := _metric(info, phase, kind, split, metric)) is not None]
            if values:
                cells[(kind, split)] = cell(values)
    return Row(label, iteration, cells)


def _evals(runs: Sequence[RunDir], i: int) -> list[dict[str, float]]:
    return [rd.stage_info(i, "eval") for rd in runs if rd.done(i, "eval")]


@dataclass(frozen=True)
class Report:
    """Every row of the report, and the curves the plots draw."""

    kinds: tuple[str, ...]
    splits: tuple[str, ...]
    baselines: dict[str, Row]  # phase (BASELINE_ROWS) -> its row, where measured
    trained: list[Row]  # warm start (iteration 0), then each self-training iteration
    corrected: list[Row]  # the iterations run with corrections (from corrections_from on)
    oracle_tools: list[Row]  # with pixel tools: the trained rows' programs rerun with the oracle's tools

    def at(self, rows: list[Row], iteration: int) -> Row | None:
        return next((r for r in rows if r.iteration == iteration), None)


def build_report(plain: Sequence[RunDir], corrected: Sequence[RunDir], iterations: int,
                 kinds: Sequence[str], splits: Sequence[str]) -> Report:
    """The report over the seeds' run directories (``plain`` without corrections,
    ``corrected`` the same runs continued with them)."""
    baselines = {phase: _row(label, None, [rd.stage_info(0, phase) for rd in plain if rd.done(0, phase)], phase,
                             kinds, splits) for phase, label in BASELINE_ROWS.items()}
    trained = [_row("warm start (seeds only)" if i == 0 else f"self-trained, iteration {i}", i,
                    _evals(plain, i), "eval", kinds, splits) for i in range(iterations + 1)]
    with_corrections = [_row(f"with corrections, iteration {i}", i, infos, "eval", kinds, splits)
                        for i in range(1, iterations + 1)
                        if (infos := [rd.stage_info(i, "eval") for rd in corrected
                                      if rd.done(i, "eval") and _has_corrections(rd, i)])]
    oracle = [_row(f"  same programs, oracle tools (iteration {i})", i, _evals(plain, i), "eval", kinds, splits,
                   "oracle_reward") for i in range(iterations + 1)]
    return Report(tuple(kinds), tuple(splits), {p: r for p, r in baselines.items() if r.cells},
                  [r for r in trained if r.cells], with_corrections, [r for r in oracle if r.cells])


def stage_seconds(rd: RunDir, first: int = 0) -> float:
    """Seconds the run's stages took from iteration ``first`` on (their ``time/`` metrics):
    what a report costs however often its command was restarted, without process start-up."""
    total = 0.0
    for i in rd.iterations():
        if i >= first:
            for marker in rd.iteration(i).glob("*.done"):
                info = rd.stage_info(i, marker.stem)
                total += sum(v for k, v in info.items() if k.startswith("time/") and isinstance(v, (int, float)))
    return total


def _has_corrections(rd: RunDir, i: int) -> bool:
    """Whether iteration ``i`` of the run was improved with corrections in its examples."""
    return rd.done(i, "improve") and bool(rd.stage_info(i, "improve").get(examples_key(SOURCE_CORRECTIONS)))


def markdown_table(report: Report, kind: str) -> str:
    """One kind's rows x splits as markdown."""
    splits = (*report.splits, ALL)
    lines = [f"| {kind} | " + " | ".join(splits) + " |", "|---" * (len(splits) + 1) + "|"]
    oracle = {r.iteration: r for r in report.oracle_tools}
    trained = [r for row in report.trained for r in (row, oracle.get(row.iteration)) if r is not None]
    for row in (*report.baselines.values(), *trained, *report.corrected):
        cells = [str(row.cells[(kind, s)]) if (kind, s) in row.cells else "-" for s in splits]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Claim:
    """One of the paper's claims as measured: what, whether it held, and the figures."""

    what: str
    met: bool
    figures: str


def _mean(row: Row | None, kind: str, split: str) -> float | None:
    return row.cells[(kind, split)].mean if row and (kind, split) in row.cells else None


def _overall(row: Row, kinds: Sequence[str]) -> float:
    """Mean held-out accuracy over kinds (each kind over all its splits)."""
    return statistics.fmean(row.cells[(k, ALL)].mean for k in kinds if (k, ALL) in row.cells)


def claims(report: Report) -> list[Claim]:
    """The claims, each measured on the last self-training iteration against the warm start."""
    out = []
    warm, last = report.at(report.trained, 0), report.trained[-1] if report.trained else None
    for split in ("paraphrase", "novel"):
        figures, met = [], True
        for kind in report.kinds:
            before, after = _mean(warm, kind, split), _mean(last, kind, split)
            if before is None or after is None:
                met = False
                figures.append(f"{kind}: not measured")
                continue
            met &= after - before >= GAIN
            figures.append(f"{kind} {before:.2f} → {after:.2f} ({after - before:+.2f})")
        out.append(Claim(f"self-trained beats the warm start by ≥ {GAIN:.2f} on `{split}`, every kind",
                         met, "; ".join(figures)))
    figures, met = [], True
    for kind in report.kinds:
        before, after = _mean(warm, kind, "unseeded"), _mean(last, kind, "unseeded")
        if before is None or after is None:
            met = False
            figures.append(f"{kind}: not measured")
            continue
        met &= before <= UNSEEDED_START and after >= UNSEEDED_END
        figures.append(f"{kind} {before:.2f} → {after:.2f}")
    out.append(Claim(f"`unseeded` families go from ≤ {UNSEEDED_START:.2f} to ≥ {UNSEEDED_END:.2f} "
                     "through self-training alone", met, "; ".join(figures)))
    curve = [_overall(r, report.kinds) for r in report.trained]
    gains = [b - a for a, b in zip(curve, curve[1:])]
    saturated = len(gains) >= SATURATION_WINDOW and all(g < SATURATION_GAIN for g in gains[-SATURATION_WINDOW:])
    out.append(Claim(f"self-training saturates (the last {SATURATION_WINDOW} iterations gain < {SATURATION_GAIN:.2f} "
                     "each, mean held-out accuracy over kinds)", saturated,
                     "curve " + " → ".join(f"{v:.2f}" for v in curve)))
    if report.corrected and last is not None:
        end = report.corrected[-1]
        plain_end = report.at(report.trained, end.iteration)
        if plain_end is not None:
            added = _overall(end, report.kinds) - _overall(plain_end, report.kinds)
            out.append(Claim("corrections carry the policy past saturation (iteration "
                             f"{end.iteration}, with vs without)", added > 0,
                             f"{_overall(plain_end, report.kinds):.2f} → {_overall(end, report.kinds):.2f} "
                             f"({added:+.2f})"))
    return out


def markdown_document(report: Report, setup: list[str], trivial: list[str], figures: dict[str, str],
                      loop: tuple[list[str], list[Claim]] = ([], [])) -> str:
    """The whole report: how it was made (``setup`` lines), the claims as measured, a table
    per kind, what trivial strategies score (``trivial`` lines), the curves (``figures``:
    kind -> PNG file name beside the document) and the closed loop (``closed_loop``)."""
    lines = ["# Self-training: held-out accuracy per split", "",
             "Generated by `python -m rayapps.report`; do not edit by hand.", "", "## Setup", "",
             *(f"- {line}" for line in setup), "", "## The paper's claims, as measured", ""]
    lines += [f"- **{'met' if c.met else 'NOT met'}**: {c.what}: {c.figures}" for c in [*claims(report), *loop[1]]]
    lines += ["", "## Held-out accuracy (mean ± sd over seeds; 1.0 = every task right)", ""]
    for kind in report.kinds:
        lines += [markdown_table(report, kind), ""]
    lines += ["## What needs no program", "", *(f"- {line}" for line in trivial), "", "## Learning curves", ""]
    lines += [f"![{kind}]({name})" for kind, name in figures.items()]
    if loop[0]:
        lines += ["", "## The closed loop: re-distilling the student on its tools' mistakes", "",
                  "Every re-distillation round fine-tunes the student the tools use on crops of the objects its "
                  "tool calls got wrong during grow (train images), labelled by the teacher and mixed with its "
                  "original distillation data (`redistill.mix` of each batch); the control spends the same steps "
                  "on as many random objects of the same images. Both are measured on the held-out side: their "
                  "tool answers to exactly the calls the iteration's evaluation asked (judged against the oracle), "
                  "the evaluation's programs rerun with their tools, and how they imitate the teacher on the "
                  "distillation's held-out crops. The targeted "
                  "student is kept for the iterations that follow.", "", *loop[0]]
    return "\n".join(lines) + "\n"


def trivial_lines(train: Sequence[Task], heldout: Sequence[Task]) -> list[str]:
    """What answers without looking, per kind and split, on the same held-out tasks: the
    training set's most common VQA answer, a random retrieval candidate, an empty detection
    (right where a phrase names nothing)."""
    splits = list(dict.fromkeys(t.split for t in heldout))

    def per_split(kind: str, hit: Callable[[Task], float]) -> str:
        cells = [(s, [hit(t) for t in heldout if t.kind == kind and t.split == s]) for s in splits]
        return ", ".join(f"{s} {statistics.fmean(v):.2f}" for s, v in cells if v)

    answers = Counter(t.annotation["answer"] for t in train if t.kind == "vqa")
    lines = []
    if answers:
        common = answers.most_common(1)[0][0]
        lines.append(f"vqa, always answering the commonest training answer ({common!r}): "
                     + per_split("vqa", lambda t: float(t.annotation["answer"] == common)))
    if any(t.kind == "retrieve" for t in heldout):
        lines.append("retrieve, a random candidate (expected): " + per_split("retrieve", lambda t: 1 / len(t.images)))
    if any(t.kind == "detect" for t in heldout):
        lines.append("detect, no box at all: " + per_split("detect", lambda t: float(not t.annotation["boxes"])))
    return lines


# ---- the closed loop (re-distillation stages) ---------------------------------------------

REDISTILL_STAGE = "redistill"  # the stage name rayapps.redistill writes markers under
TARGETED_DROP = 0.30  # the goal: targeted re-distillation cuts the failing primitives' error by 30 % (relative)
# (marker key after "redistill/<arm>/", label) of the closed-loop table, in order
LOOP_ROWS = (("tool_error/failing", "tool error, failing primitives (held-out calls)"),
             ("tool_error/all", "tool error, every primitive (held-out calls)"),
             *((f"reward/{k}", f"held-out accuracy {k}, student tools (same programs)") for k in ("detect", "vqa",
                                                                                                  "retrieve")),
             ("student/id/zero_shot", "student ID zero-shot (distillation crops)"),
             ("student/ood/zero_shot", "student OOD zero-shot"),
             ("student/id/teacher_agreement", "top-1 agreement with the teacher, ID"),
             ("student/ood/teacher_agreement", "top-1 agreement with the teacher, OOD"),
             ("student/ood/embedding_cosine", "image-embedding cosine with the teacher, OOD"),
             ("student/ood/class_kl", "class KL(teacher ‖ student), OOD"))
ARMS = ("before", "targeted", "random")


def _loop_cells(runs: Sequence[RunDir], i: int, key: str) -> dict[str, Cell]:
    infos = [rd.stage_info(i, REDISTILL_STAGE) for rd in runs if rd.done(i, REDISTILL_STAGE)]
    out = {}
    for arm in ARMS:
        values = [v for info in infos if isinstance(v := info.get(f"{REDISTILL_STAGE}/{arm}/{key}"), float)
                  and v == v]
        if values:
            out[arm] = cell(values)
    return out


def closed_loop(runs: Sequence[RunDir], iterations: int) -> tuple[list[str], list[Claim]]:
    """The re-distillation rounds of the runs: a table per round (before, targeted, random
    at equal compute; mean ± sd over the seeds) and the goal checked per round."""
    lines: list[str] = []
    found: list[Claim] = []
    for i in range(1, iterations + 1):
        if not any(rd.done(i, REDISTILL_STAGE) for rd in runs):
            continue
        n = sum(rd.done(i, REDISTILL_STAGE) for rd in runs)
        lines += [f"### Re-distillation after iteration {i} ({n} seed{'s' if n > 1 else ''})", "",
                  "| measure | before | targeted | random (same compute) |", "|---|---|---|---|"]
        for key, label in LOOP_ROWS:
            cells = _loop_cells(runs, i, key)
            if cells:
                lines.append(f"| {label} | " + " | ".join(str(cells[a]) if a in cells else "-" for a in ARMS) + " |")
        lines.append("")
        cells = _loop_cells(runs, i, "tool_error/failing")
        if all(a in cells for a in ARMS):
            before, targeted, rand = (cells[a].mean for a in ARMS)
            drop = (before - targeted) / before if before else 0.0
            found.append(Claim(f"targeted re-distillation after iteration {i} cuts the held-out tool error on the "
                               f"failing primitives by ≥ {TARGETED_DROP:.0%} (relative) and beats random crops at "
                               "equal compute", drop >= TARGETED_DROP and targeted < rand,
                               f"{before:.3f} → {targeted:.3f} ({-drop:+.0%}), random {rand:.3f}"))
    return lines, found
