"""``python -m rayapps.api_accuracy --student-dir DIR [--out FILE]``: visual-API primitives,
student backend vs oracle, on held-out scenes, split by in-distribution and OOD classes.

Builds (or reuses) the world of the config profile, makes what the student backend needs
beside the student when missing (the proposal detector, trained on the world's train
images, and the calibration: ``visrep.visual.calibration.prepare_student_dir``), then asks both
backends the questions listed in :mod:`visrep.visual.accuracy` and writes the table.
No Ray: it runs in one process.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from visrep.cli import USER_ERRORS, SetupError, run_main
from visrep.config import CONFIG_DIR, Config, load_config
from visrep.visual.accuracy import SCOPE, accuracy_table
from visrep.vlm.models import ModelError
from visrep.vlm.student import StudentDir
from visrep.world import build_world_from


def _world_dir(cfg: Config, world_dir: str) -> Path:
    """``world_dir`` when given, else the profile's world (built if missing)."""
    if world_dir:
        return Path(world_dir)
    w = cfg.world
    root = Path(w.dir) if w.dir else Path(cfg.run.dir) / "world"
    build_world_from(root, w)
    return root


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rayapps.api_accuracy", description=__doc__.split("\n")[0])
    parser.add_argument("--student-dir", required=True, help="a distilled student dir (rayapps.distill)")
    parser.add_argument("--out", default="docs/results/api_accuracy.md")
    parser.add_argument("--config", default="default", help=f"profile in {CONFIG_DIR} (its world)")
    parser.add_argument("--world-dir", default="", help="an existing world instead of the profile's")
    parser.add_argument("--scenes", type=int, default=30, help="held-out scenes asked about")
    parser.add_argument("--split-seed", type=int, default=0, help="class split when the student has none")
    parser.add_argument("--proposal-steps", type=int, default=600)
    parser.add_argument("--recalibrate", action="store_true", help="refit backend.json even if present")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: the table for ``--student-dir``, written to ``--out`` and printed; a user
    error (a bad profile, a missing file, not a student dir) is one line and exit status 2."""
    args = _parser().parse_args(argv)
    return run_main("api_accuracy", lambda: _write_table(args, argv), errors=(*USER_ERRORS, ModelError))


def _write_table(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    # checked before the world is built or a detector trained: a mistyped dir costs nothing
    if not StudentDir(Path(args.student_dir)).has_student():
        raise SetupError(f"--student-dir {args.student_dir} holds no distilled student (no student.json); "
                         "make one with python -m rayapps.distill")
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, [])
    world = _world_dir(cfg, args.world_dir)
    start = time.monotonic()
    body, calibration = accuracy_table(Path(args.student_dir), world, args.scenes, args.split_seed,
                                       args.proposal_steps, args.recalibrate)
    command = " ".join(["python -m rayapps.api_accuracy", *(argv if argv is not None else sys.argv[1:])])
    table = (f"# Visual-API primitive accuracy: student backend vs oracle\n\n"
             f"`{command}`: world `{world}`, {SCOPE.format(scenes=args.scenes)}\n\n{calibration}\n\n{body}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    print(table)
    print(f"wrote {out} ({time.monotonic() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
