"""Run program files against tasks of a world, through the real executor.

    python -m visrep.programs run FILE... [--task-id ID] [--backend oracle|student]
                                         [--jsonl FILE] [--world DIR] [--student-dir DIR]

Each FILE holds a full program (``def execute_command(image): ...``) or just its body;
``--jsonl`` adds one program per line, ``{"task_id": ..., "source": ...}``.  One JSON line
is printed per program: ``program``, ``task_id``, ``status``, ``value``, ``error``,
``api_calls``, ``duration_s``, ``stdout``.  The world defaults to the default profile's
world, built on first use into ``$VISREP_CACHE`` (default ``~/.cache/visrep``).  The exit
code is 0 whenever the executor itself worked, whatever the programs did; 2 for bad
arguments (an unknown task id, an unreadable file).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from visrep.cli import cache_dir
from visrep.config import VisualConfig, load_config
from visrep.programs.executor import executor_for_world
from visrep.programs.text import as_source
from visrep.visual.backend import BACKENDS
from visrep.world import build_world_from, load_tasks
from visrep.world.build import FORMAT_VERSION
from visrep.world.records import Task


def default_world() -> Path:
    """The default profile's world, built into the cache dir on first use."""
    w = load_config("default").world
    params = {**{k: v for k, v in dataclasses.asdict(w).items() if k != "dir"}, "format": FORMAT_VERSION}
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    root = cache_dir() / f"world-{digest}"
    if not root.is_dir():
        print(f"building the default world into {root} (once)", file=sys.stderr)
    build_world_from(root, w)
    return root


def _programs(args: argparse.Namespace) -> list[tuple[str, str | None, str]]:
    """(label, task id or None for the default, source) for every program given."""
    out: list[tuple[str, str | None, str]] = [
        (str(f), args.task_id, as_source(Path(f).read_text())) for f in args.files]
    if args.jsonl:
        for n, line in enumerate(Path(args.jsonl).read_text().splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("source"), str):
                    raise ValueError(f"{args.jsonl}:{n}: needs a 'source' string")
                out.append((f"{args.jsonl}:{n}", row.get("task_id") or args.task_id,
                            as_source(row["source"])))
    return out


def run(args: argparse.Namespace) -> int:
    world = Path(args.world) if args.world else default_world()
    try:
        programs = _programs(args)
        if not world.is_dir():
            raise ValueError(f"world {world} does not exist")
        tasks = {t.id: t for t in load_tasks(world)}
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    default: Task = next(iter(tasks.values()))
    missing = sorted({tid for _, tid, _ in programs if tid is not None and tid not in tasks})
    if missing:
        print(f"error: unknown task id(s) {', '.join(missing)} in {world}", file=sys.stderr)
        return 2
    cfg = load_config("default")
    visual = VisualConfig(args.backend, args.student_dir or cfg.visual.student_dir)
    items = [(source, tasks[tid] if tid else default) for _, tid, source in programs]
    with executor_for_world(world, visual, cfg.executor) as executor:
        results = executor.run(items)
    for (label, _, _), (_, task), result in zip(programs, items, results):
        row: dict[str, Any] = {"program": label, "task_id": task.id, "status": result.status,
                               "value": result.value, "error": result.error,
                               "api_calls": result.api_calls,
                               "duration_s": round(result.duration_s, 4),
                               "stdout": result.extra.get("stdout", "")}
        print(json.dumps(row))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m visrep.programs",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run program files; one JSON line per program")
    p.add_argument("files", nargs="*", help="program files (full source or body)")
    p.add_argument("--task-id", help="the task to run them on (default: the world's first)")
    p.add_argument("--backend", choices=sorted(BACKENDS), default="oracle")
    p.add_argument("--jsonl", help='a file of {"task_id": ..., "source": ...} lines')
    p.add_argument("--world", help="a world dir (default: the default profile's, cached)")
    p.add_argument("--student-dir", help="the distilled student's dir (backend student)")
    args = parser.parse_args(argv)
    if not args.files and not args.jsonl:
        parser.error("give program FILEs and/or --jsonl FILE")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
