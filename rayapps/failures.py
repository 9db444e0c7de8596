"""``python -m rayapps.failures --run DIR [--out FILE] [--limit N]``: what the policy still
fails after a run's last iteration, and the corrections file for a person to fill in.

Prints, per task family (kind and template), how many training tasks had no program reach
the reward threshold in the last grow and how many held-out tasks its evaluation failed,
most failures first; writes one line per failed training task (at most ``--limit``, the
families taken in turn) with the task, what the policy sampled for it and an empty
``body`` (default ``<run>/corrections_todo.jsonl``).  Fill in the bodies, delete the lines
you skip, and continue the run with ``selftrain.corrections_file`` and
``selftrain.corrections_from`` (the command is printed).  It reads the run's files only:
no Ray cluster, no model.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from visrep.cli import SetupError, run_main
from visrep.selftrain.corrections import write_corrections
from visrep.selftrain.failures import read_failures
from visrep.selftrain.rundir import RunDir


def failures(args: argparse.Namespace) -> int:
    """Print the table; write the file to fill in and say how to continue the run with it."""
    if args.limit < 1:
        raise SetupError(f"--limit must be at least 1, not {args.limit}")
    rd = RunDir(Path(args.run).resolve())
    report = read_failures(rd, args.limit)
    print(report.table())
    if not report.todo:
        print(f"no training task failed in iteration {report.iteration}: nothing to correct")
        return 0
    out = Path(args.out) if args.out else rd.root / "corrections_todo.jsonl"
    write_corrections(report.todo, out)
    failed = sum(len(f.train_failed) for f in report.families)
    nxt = report.iteration + 1
    print(f"wrote {len(report.todo)} of {failed} failed training tasks to {out}: fill in each \"body\" "
          "(a program body, as in configs/seeds/programs.jsonl), delete the lines you skip, then continue:\n"
          f"  python -m rayapps.selftrain --config {rd.root}/config.yaml run.dir={rd.root} "
          f"run.iterations={nxt} selftrain.corrections_file={out} selftrain.corrections_from={nxt}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rayapps.failures", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="a self-training run dir (run.dir)")
    parser.add_argument("--out", help="the file to write (default <run>/corrections_todo.jsonl; never overwritten)")
    parser.add_argument("--limit", type=int, default=50, help="at most this many tasks (default 50)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; a user error (not a run dir, no finished iteration) is one line, exit 2."""
    return run_main("failures", lambda: failures(_parser().parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
