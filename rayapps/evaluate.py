"""``python -m rayapps.evaluate (--checkpoint DIR | --baseline NAME) --world DIR``: accuracy per
task kind and split, as a markdown table (printed) and JSON (``--out``).

A checkpoint (an HF model dir such as ``<run>/iter_003/checkpoint``) writes one greedy
program per task, exactly as the loop's eval phase does: the same sampler, executor and
scorer actors (``rayapps.pools``) and the same phase (``rayapps.pipeline.run_eval``), with
the prompt, sampler, policy, executor and resources sections of ``--config``, so its
numbers are the loop's.  A baseline (``--baseline passthrough``) needs no model: its
programs (``visrep.programs.baselines``) go through the same executors and scorers.  The
world is any directory ``visrep.world.load_tasks`` reads: the embedded world, or a user's
RefCOCO/GQA/retrieval-format files beside a COCO ``instances.json``.  ``--split`` keeps
the tasks of the named splits (repeatable, or comma-separated; ``heldout`` names every
split but ``train``); the table has a column per split present plus ``all``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rayapps.cluster import connect
from rayapps.distill import student_for_tools
from rayapps.inputs import Inputs
from rayapps.pipeline import PhaseOutput, Pools, run_eval, run_given
from rayapps.pools import attribution, spawn_executors, spawn_pools, spawn_scorers
from visrep.cli import SetupError, run_main
from visrep.config import Config, load_config
from visrep.programs.baselines import BASELINES
from visrep.selftrain.examples import config_seeds
from visrep.selftrain.metrics import accuracy_json, accuracy_markdown, accuracy_table, table_splits
from visrep.selftrain.trajectories import write_rows
from visrep.visual.backend import BACKENDS
from visrep.world import load_scenes, load_tasks
from visrep.world.kinds import labelled
from visrep.world.loaders import in_split
from visrep.world.records import HELDOUT, Task


def _config(args: argparse.Namespace) -> Config:
    """The profile with its overrides; ``--backend``/``--student-dir`` set ``visual``'s fields
    (also overriding them is refused, not silently resolved)."""
    flags = {"visual.backend": args.backend, "visual.student_dir": args.student_dir}
    both = [key for key, value in flags.items() if value and any(o.startswith(f"{key}=") for o in args.overrides)]
    if both:
        raise SetupError(f"{both[0]} is given both by its flag and as an override")
    cfg = load_config(args.config, args.overrides)
    visual = dataclasses.replace(cfg.visual, backend=args.backend or cfg.visual.backend,
                                 student_dir=args.student_dir or cfg.visual.student_dir)
    return dataclasses.replace(cfg, visual=visual)


def _checkpoint(path: str) -> Path:
    """The checkpoint dir, checked to be an HF model dir."""
    ckpt = Path(path)
    if not ckpt.is_dir():
        raise SetupError(f"checkpoint {ckpt} does not exist")
    if not (ckpt / "config.json").is_file():
        raise SetupError(f"checkpoint {ckpt} is not an HF model dir (no config.json)")
    return ckpt


def _tasks(world: Path, split_args: list[str], splits: dict[str, str]) -> list[Task]:
    """The world's labelled tasks (a test file's unanswered questions cannot be scored), kept
    to the requested splits (each of which must have tasks; ``train``/``heldout`` as
    ``world.splits`` maps them)."""
    if not world.is_dir():
        raise SetupError(f"world {world} does not exist")
    try:
        tasks = [t for t in load_tasks(world) if labelled(t)]
        scenes = load_scenes(world)
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    present = list(dict.fromkeys(t.split for t in tasks))
    wanted = [s for arg in split_args for s in arg.split(",") if s]
    for split in wanted:
        if not any(in_split(t, split, splits) for t in tasks):
            raise SetupError(f"no tasks of split {split!r} in {world} (its splits: {', '.join(present)})")
    for task in tasks:
        missing = [i for i in task.images if i not in scenes]
        if missing:
            raise SetupError(f"task {task.id}: image {missing[0]} is not in {world}/instances.json")
    return [t for t in tasks if not wanted or any(in_split(t, split, splits) for split in wanted)]


def _run(cfg: Config, world: Path, tasks: list[Task], checkpoint: Path | None, baseline: str) -> PhaseOutput:
    """The phase on live actor pools: the checkpoint's greedy programs, or the baseline's."""
    connect(cfg.resources, 0)
    inputs = Inputs.of(cfg.visual, world, ship_world=False)  # --world: the user's, on every node
    if checkpoint is None:
        pools = Pools([], spawn_executors(cfg, inputs), spawn_scorers(cfg), cfg.visual.backend, attribution(cfg))
        return run_given(pools, tasks, BASELINES[baseline], phase=baseline, batch_tasks=cfg.sampler.batch_tasks)
    pools = spawn_pools(cfg, inputs, checkpoint, 0, config_seeds(cfg.warm_start.seeds_file))
    return run_eval(pools, tasks, iteration=0, prompt=cfg.prompt, batch_tasks=cfg.sampler.greedy_batch_tasks)


def evaluate(args: argparse.Namespace) -> int:
    """Check the inputs, run the phase, print the table, write what was asked for."""
    cfg = _config(args)
    checkpoint = _checkpoint(args.checkpoint) if args.checkpoint else None
    world = Path(args.world)
    tasks = _tasks(world, args.split, cfg.world.splits)
    # the student backend's student is checked, or distilled when none is named (minutes at
    # real size): only once every other input has been found good
    visual, _ = student_for_tools(cfg.visual, cfg.run.mlflow_uri)
    cfg = dataclasses.replace(cfg, visual=visual)
    out = _run(cfg, world, tasks, checkpoint, args.baseline)
    table = accuracy_table(out.rows)
    what = f"checkpoint {checkpoint}" if checkpoint else f"baseline {args.baseline}"
    print(f"{what} on {world} ({len(tasks)} tasks, {cfg.visual.backend} tools): mean reward (n = tasks)")
    print(accuracy_markdown(table))
    if args.trajectories:
        write_rows(out.rows, Path(args.trajectories))
        print(f"wrote {args.trajectories}")
    if args.out:
        report = {"checkpoint": args.checkpoint, "baseline": args.baseline, "world": str(world),
                  "backend": cfg.visual.backend, "splits": table_splits(table), "accuracy": accuracy_json(table)}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rayapps.evaluate", description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--checkpoint", help="a policy checkpoint: an HF model dir (<run>/iter_NNN/checkpoint)")
    which.add_argument("--baseline", choices=sorted(BASELINES), help="programs that need no policy")
    parser.add_argument("--world", required=True, help="a world dir (task files and instances.json)")
    parser.add_argument("--split", action="append", default=[], metavar="S",
                        help=f"keep only this split's tasks (repeatable or comma-separated; {HELDOUT!r}: every "
                             "split but train; default: all)")
    parser.add_argument("--backend", choices=sorted(BACKENDS), help="tool backend (default: the profile's)")
    parser.add_argument("--student-dir", help="the distilled student dir (backend student)")
    parser.add_argument("--config", default="default",
                        help="profile (default, tiny, paper) or a YAML path: its prompt, sampler, policy, ...")
    parser.add_argument("--out", help="also write the table as JSON to this file")
    parser.add_argument("--trajectories", help="also write the executed programs as Parquet to this file")
    parser.add_argument("overrides", nargs="*", metavar="a.b=value", help="config overrides")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; a user error (a missing dir, a split with no tasks) is one line, exit 2."""
    args = _parser().parse_args(argv)
    return run_main("evaluate", lambda: evaluate(args))


if __name__ == "__main__":
    sys.exit(main())
