"""``python -m rayapps.report [--seeds 0,1,2] [--iterations 6] [--corrections FILE]``: regenerate
``docs/results/selftrain.md`` and its learning curves.

With student tools (the default profile's) each run also re-distils its student every
``--redistill-every`` iterations, beside a control at equal compute, and the document gets
the closed loop's table (``visrep.selftrain.report.closed_loop``).

For each seed it runs the self-training job (``rayapps.selftrain``, one process per run,
each its own Ray cluster and MLflow run) without corrections for ``--iterations``
iterations; then, with ``--corrections``, it continues each run from iteration
``--corrections-from`` with the corrections merged into improve (a branch of the run
directory: the iterations before that are shared, hard-linked, not redone).  A finished
run is reused, so rerunning the command after a crash or with more seeds only does what
is missing.  The report (visrep.selftrain.report) is built from the runs' stage markers:
the baseline rows, the warm start, every iteration, with and without corrections, per
kind and held-out split, mean and spread over the seeds, and the paper's claims checked
against them; the document, its PNGs and the curves as metrics go to MLflow too.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rayapps.tracking import log_report
from visrep.cli import SetupError, resolve_path, run_main
from visrep.config import Config, load_config
from visrep.hardware import resolve_dtype
from visrep.selftrain.corrections import config_corrections
from visrep.selftrain.curves import plot_kind
from visrep.selftrain.report import build_report, closed_loop, markdown_document, stage_seconds, trivial_lines
from visrep.selftrain.rundir import RunDir, link_tree
from visrep.selftrain.tasks import loop_tasks, world_dir
from visrep.world.records import TASK_KINDS, Task

# What a branch shares with the run it continues (the iterations before the corrections
# join are added per iteration); the MLflow run id is not shared: a branch is its own run.
_SHARED = ("config.yaml", "world")


def _selftrain(profile: str, overrides: list[str]) -> None:
    """One self-training run in its own process (its own Ray cluster); raises on failure."""
    command = [sys.executable, "-m", "rayapps.selftrain", "--config", profile, *overrides]
    print("$", " ".join(command), flush=True)
    if subprocess.run(command, check=False).returncode != 0:
        raise RuntimeError(f"self-training failed: {' '.join(command)}")


def _branch(plain: Path, branch: Path, joins: int) -> None:
    """Start ``branch`` as ``plain`` up to (not including) iteration ``joins``, hard-linked."""
    if branch.exists():
        return
    tmp = branch.with_name(f".{branch.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    names = [*_SHARED, *(RunDir(plain).iteration(i).name for i in range(joins))]
    for name in names:
        if (plain / name).exists():
            link_tree(plain / name, tmp / name)
    os.rename(tmp, branch)


def _setup_lines(cfg: Config, args: argparse.Namespace, train: list[Task], heldout: list[Task],
                 n_corrections: int, wall_s: float, stages_s: float) -> list[str]:
    w = cfg.world
    per_split = {s: sum(t.split == s for t in heldout) for s in dict.fromkeys(t.split for t in heldout)}
    lines = [
        "command: `" + " ".join(["python -m rayapps.report", *args.argv]) + "`",
        f"profile `{args.config}`: {args.iterations} iterations, seeds {', '.join(map(str, args.seeds))} "
        f"(run.seed; the world is the same for every seed, world.seed {w.seed})",
        f"world: {w.train_images} training and {w.heldout_images} held-out images of {w.image_size} px, "
        f"{w.tasks_per_image} task per image and kind, {w.retrieval_candidates} retrieval candidates: "
        f"{len(train)} training tasks, {len(heldout)} held-out tasks per run ("
        + ", ".join(f"{s} {n}" for s, n in per_split.items()) + ", over three kinds)",
        f"policy `{cfg.policy.model}` ({resolve_dtype(cfg.policy.dtype)}), {cfg.sampler.k} programs per training "
        f"task per iteration at temperature {cfg.sampler.temperature}, greedy evaluation; tools: "
        f"`{cfg.visual.backend}` backend" + (f" (the student distilled with configs/distill/{cfg.visual.distill}.yaml; "
                                             "failures attributed by rerunning them with the oracle's tools)"
                                             if cfg.visual.backend == "student" else ""),
    ]
    if args.corrections:
        lines.append(f"corrections: {n_corrections} programs from `{args.corrections}`, joining improve at "
                     f"iteration {args.corrections_from} (the runs without them are the same up to there)")
    lines.append(f"machine: {platform.machine()} {os.cpu_count()} CPUs, {platform.platform()}; the runs' stages "
                 f"took {stages_s / 60:.0f} min in all (plus about a minute of start-up per run); this "
                 f"command's last invocation took {wall_s / 60:.0f} min (finished runs are reused)")
    return lines


def report(args: argparse.Namespace) -> int:
    """Run (or reuse) every run, then write the document, its PNGs and the MLflow run."""
    start = time.perf_counter()
    base = [f"redistill.every={args.redistill_every}", *args.overrides, f"run.iterations={args.iterations}"]
    cfg = load_config(args.config, base)
    runs_root = resolve_path(args.runs)
    with_corrections = [f"selftrain.corrections_file={resolve_path(args.corrections)}",
                        f"selftrain.corrections_from={args.corrections_from}"] if args.corrections else []
    if with_corrections:
        if not resolve_path(args.corrections).is_file():
            raise SetupError(f"corrections file {resolve_path(args.corrections)} does not exist")
        if not 0 < args.corrections_from <= args.iterations:
            raise SetupError(f"--corrections-from {args.corrections_from} is not an iteration of 1..{args.iterations}")
    plain, corrected, corrections = [], [], []
    for seed in args.seeds:
        run = runs_root / f"seed{seed}"
        _selftrain(args.config, [*base, f"run.dir={run}", f"run.seed={seed}"])
        plain.append(RunDir(run))
        world = world_dir(run, cfg.world)
        train, heldout = loop_tasks(world, cfg.world.kinds, cfg.selftrain.eval_tasks, cfg.run.seed, cfg.world.splits)
        if with_corrections:  # checked against the world before a run is spent on them
            corrections = config_corrections(load_config(args.config, [*base, *with_corrections]).selftrain, train)
            branch = runs_root / f"seed{seed}-corrections"
            _branch(run, branch, args.corrections_from)
            _selftrain(args.config, [*base, f"run.dir={branch}", f"run.seed={seed}", *with_corrections])
            corrected.append(RunDir(branch))
    splits = list(dict.fromkeys(t.split for t in heldout))
    kinds = [k for k in TASK_KINDS if k in cfg.world.kinds]
    built = build_report(plain, corrected, args.iterations, kinds, splits)
    out = resolve_path(args.out)
    figures = {kind: plot_kind(built, kind, out / f"selftrain_{kind}.png").name for kind in kinds}
    stages_s = sum(map(stage_seconds, plain)) + sum(stage_seconds(rd, args.corrections_from) for rd in corrected)
    setup = _setup_lines(cfg, args, train, heldout, len(corrections), time.perf_counter() - start, stages_s)
    doc = out / "selftrain.md"
    doc.write_text(markdown_document(built, setup, trivial_lines(train, heldout), figures,
                                     closed_loop(plain, args.iterations)))
    print(doc.read_text())
    log_report(cfg, built, [doc, *(out / name for name in figures.values())])
    print(f"wrote {doc} and {len(figures)} PNGs; logged to MLflow at {cfg.run.mlflow_uri}")
    return 0


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds are comma-separated integers, not {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError("at least one seed")
    return seeds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rayapps.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="default", help="the self-training profile (default: default)")
    parser.add_argument("--seeds", type=_seeds, default=[0, 1, 2], help="run seeds, comma-separated (default 0,1,2)")
    parser.add_argument("--iterations", type=int, default=6, help="iterations per run (default 6)")
    parser.add_argument("--corrections", default="configs/corrections/default.jsonl",
                        help="filled corrections file (default: the shipped one; '' for none)")
    parser.add_argument("--corrections-from", type=int, default=5, help="the iteration they join (default 5)")
    parser.add_argument("--redistill-every", type=int, default=2,
                        help="re-distil the student every N iterations, with the random-crop control (default 2; "
                             "0: never); ignored with oracle tools")
    parser.add_argument("--runs", default="runs/report", help="where the runs go (default runs/report)")
    parser.add_argument("--out", default="docs/results", help="where selftrain.md and its PNGs go")
    parser.add_argument("overrides", nargs="*", metavar="a.b=value", help="config overrides for every run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; a user error is one line, exit 2."""
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        args = _parser().parse_args(argv)
        args.argv = argv
        return report(args)

    return run_main("report", body)


if __name__ == "__main__":
    sys.exit(main())
