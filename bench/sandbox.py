"""Sandbox benchmark: per-program overhead and the memo's saving, as ratios in one run.

    python bench/sandbox.py [--programs 200] [--fresh 30] [--parent-mb 256] [--call-ms 20]
                            [--k 8] [--tasks 12] [--out FILE]

1. Overhead: a trivial program (``return 1``) run ``--programs`` times through a pre-forked
   pool of one worker, and ``--fresh`` times through ``run_sandboxed`` (a fresh fork and
   hardening per program, the walking skeleton's way).  The parent first fills
   ``--parent-mb`` of memory, standing in for the loaded backend models: fork cost grows
   with the parent's mapped memory, pre-forking pays it once per worker.
2. Memo: for ``--tasks`` seed tasks of the default world, one sample each, then K samples
   each, with the executor's memo and without it.  The backend is the oracle wrapped in
   ``CostlyBackend``, which makes every call that reaches it cost ``--call-ms`` of CPU (a
   sleep-free busy loop), standing in for the student backend (the oracle's calls take
   microseconds, too cheap to show anything).  "Tool time" is the time spent inside that
   backend.  The K samples are the seed program K times: identical samples are the upper
   bound of sharing; distinct samples pay once for each distinct call.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import visrep  # noqa: E402,F401  (first: applies the torchvision fix)
from visrep.config import ExecutorConfig, load_config  # noqa: E402
from visrep.programs.__main__ import default_world  # noqa: E402
from visrep.programs.executor import ProgramExecutor  # noqa: E402
from visrep.programs.pool import Job, WorkerPool, run_sandboxed  # noqa: E402
from visrep.selftrain.examples import load_seeds  # noqa: E402
from visrep.visual.backend import TOOLS, VisualBackend  # noqa: E402
from visrep.visual.oracle import OracleBackend  # noqa: E402
from visrep.world import load_scenes, load_tasks  # noqa: E402

TRIVIAL = "def execute_command(image):\n    return 1\n"


class CostlyBackend:
    """``inner``'s answers to every tool of ``TOOLS``, each costing ``cost_s`` of busy CPU;
    totals calls and time."""

    def __init__(self, inner: VisualBackend, cost_s: float) -> None:
        self.inner, self.cost_s = inner, cost_s
        self.calls, self.seconds = 0, 0.0

    def _timed(self, name: str, *args: Any) -> Any:
        t0 = time.perf_counter()
        value = getattr(self.inner, name)(*args)
        x = 0
        while time.perf_counter() - t0 < self.cost_s:
            x += 1  # burn CPU, as a model's forward pass would
        self.calls += 1
        self.seconds += time.perf_counter() - t0
        return value

    def __getattr__(self, tool: str) -> Callable[..., Any]:
        if tool not in TOOLS:
            raise AttributeError(tool)
        return lambda *args: self._timed(tool, *args)


def overhead(args: argparse.Namespace, limits: ExecutorConfig) -> dict[str, float]:
    call = lambda env: env["execute_command"](None)  # noqa: E731
    t0 = time.perf_counter()
    with WorkerPool([], lambda context, rpc: ({}, call), None, limits, workers=1) as pool:
        start_s = time.perf_counter() - t0
        pool.run([Job(TRIVIAL)] * 10)  # warm
        t0 = time.perf_counter()
        results = pool.run([Job(TRIVIAL)] * args.programs)
        batch_ms = (time.perf_counter() - t0) / args.programs * 1000
        t0 = time.perf_counter()
        for _ in range(args.programs):
            pool.run([Job(TRIVIAL)])
        single_ms = (time.perf_counter() - t0) / args.programs * 1000
    assert all(r.value == 1 for r in results)
    t0 = time.perf_counter()
    for _ in range(args.fresh):
        assert run_sandboxed(TRIVIAL, {}, call, limits).value == 1
    fresh_ms = (time.perf_counter() - t0) / args.fresh * 1000
    return {"pool_start_ms": start_s * 1000, "prefork_ms_per_program_batched": batch_ms,
            "prefork_ms_per_program_one_by_one": single_ms, "fresh_fork_ms_per_program": fresh_ms,
            "fresh_over_prefork": fresh_ms / single_ms}


def memo(args: argparse.Namespace, limits: ExecutorConfig) -> dict[str, float]:
    world = default_world()
    cfg = load_config("default")
    tasks = {t.id: t for t in load_tasks(world, "train")}
    seeds = load_seeds(ROOT / cfg.warm_start.seeds_file)[: args.tasks]
    scenes = load_scenes(world)
    sizes = {i: (s.width, s.height) for i, s in scenes.items()}
    programs = [("def execute_command(image):\n"
                 + "".join(f"    {line}\n" for line in s.body.splitlines()), tasks[s.task_id])
                for s in seeds]
    out: dict[str, float] = {}
    for use_memo in (True, False):
        label = "memo" if use_memo else "no_memo"
        for k in (1, args.k):
            backend = CostlyBackend(OracleBackend(scenes), args.call_ms / 1000)
            with ProgramExecutor(backend, sizes, limits, memo=use_memo) as executor:
                t0 = time.perf_counter()
                results = executor.run([p for p in programs for _ in range(k)])
                wall = time.perf_counter() - t0
            assert all(r.status == "ok" for r in results), [r for r in results if r.status != "ok"]
            out[f"{label}_k{k}_tool_s"] = backend.seconds
            out[f"{label}_k{k}_backend_calls"] = backend.calls
            out[f"{label}_k{k}_api_calls"] = sum(r.api_calls for r in results)
            out[f"{label}_k{k}_wall_s"] = wall
        out[f"{label}_k{args.k}_over_k1_tool"] = out[f"{label}_k{args.k}_tool_s"] / out[f"{label}_k1_tool_s"]
    out["k_wall_no_memo_over_memo"] = out[f"no_memo_k{args.k}_wall_s"] / out[f"memo_k{args.k}_wall_s"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=200)
    parser.add_argument("--fresh", type=int, default=30)
    parser.add_argument("--parent-mb", type=int, default=256)
    parser.add_argument("--call-ms", type=float, default=20.0)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--tasks", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    ballast = np.ones(args.parent_mb * (1 << 20) // 8)  # stands in for loaded models
    limits = ExecutorConfig(timeout_s=30.0, memory_mb=512, workers=args.workers)
    figures = {"parent_mb": args.parent_mb, "call_ms": args.call_ms, "k": args.k,
               "tasks": args.tasks, **overhead(args, limits), **memo(args, limits)}
    del ballast
    for key, value in figures.items():
        print(f"{key:40s} {value:.4g}" if isinstance(value, float) else f"{key:40s} {value}")
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
