"""Execution apart from sampler batches: one phase's wall time with 1, 2, 4 executor actors.

    python bench/executors.py [--config tiny] [--executors 1 2 4] [--tasks 96] [--batch-tasks 0] [a.b=value ...]

Runs the world's reference programs (they call the tools; the tiny policy's samples mostly do
not parse, so they would measure nothing) on ``--tasks`` training tasks as one phase of the
real pipeline (``rayapps.pipeline.run_given``: executors, scorers and the attribution reruns,
in Ray actors, the profile's tools: the tiny profile's student), with ``--batch-tasks`` tasks
per batch (0: all tasks in one batch, where one executor per batch would leave the others
idle).  Each count of executors gets fresh actors, one untimed phase on other tasks first
(the actors' start, the sandbox forks), then the timed phase; same run, so the ratios to one
executor are the figure.  On 2 cores more than 2 executors can only share them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import visrep  # noqa: E402,F401  (first: the torchvision fix)
from rayapps.cluster import connect  # noqa: E402
from rayapps.distill import student_for_tools  # noqa: E402
from rayapps.inputs import Inputs  # noqa: E402
from rayapps.pipeline import run_given  # noqa: E402
from rayapps.pools import spawn_pools  # noqa: E402
from visrep.config import load_config  # noqa: E402
from visrep.programs.baselines import BASELINES  # noqa: E402
from visrep.selftrain.tasks import loop_tasks, run_world  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--executors", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--tasks", type=int, default=96)
    ap.add_argument("--batch-tasks", type=int, default=0, help="tasks per batch (0: one batch)")
    ap.add_argument("overrides", nargs="*", metavar="a.b=value", help="config overrides (executor.workers=1)")
    args = ap.parse_args(argv)
    import ray

    cfg = load_config(args.config, [*args.overrides, f"resources.executors={max(args.executors)}"])
    with tempfile.TemporaryDirectory() as tmp:
        world = run_world(Path(tmp), cfg.world)
        train, heldout = loop_tasks(world, cfg.world.kinds, 0, cfg.run.seed)
        tasks, warm = (train + heldout)[:args.tasks], (train + heldout)[args.tasks:][:8] or train[:8]
        visual, _ = student_for_tools(cfg.visual, cfg.run.mlflow_uri)
        connect(cfg.resources, 0)
        batch = args.batch_tasks or len(tasks)
        walls: dict[int, float] = {}
        for count in args.executors:
            run_cfg = load_config(args.config, [*args.overrides, f"resources.executors={count}"])
            pools = spawn_pools(run_cfg, Inputs.of(visual, world, ship_world=False), Path(tmp), 0, [],
                                samplers=False)  # no samplers: no model
            try:
                run_given(pools, warm, BASELINES["reference"], phase="warm-up", batch_tasks=batch)
                start = time.perf_counter()
                out = run_given(pools, tasks, BASELINES["reference"], phase="reference", batch_tasks=batch)
                walls[count] = time.perf_counter() - start
            finally:
                for actor in pools.named().values():
                    ray.kill(actor)
            assert len(out.rows) == len(tasks)
    print(f"{len(tasks)} reference programs ({args.config} world, {cfg.visual.backend} tools, attribution "
          f"{'on' if cfg.visual.attribute else 'off'}, {cfg.executor.workers} sandbox workers an executor), "
          f"{batch} tasks a batch:")
    for count, wall in walls.items():
        print(f"  {count} executor{'s' * (count > 1)}: {wall:6.2f} s, {len(tasks) / wall:6.1f} programs/s, "
              f"{walls[args.executors[0]] / wall:.2f}x the first")
    return 0


if __name__ == "__main__":
    sys.exit(main())
