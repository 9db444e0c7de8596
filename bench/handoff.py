"""Weight hand-off between the learner and the samplers: restart from a path vs in place, one run.

    python bench/handoff.py [--config default] [--iterations 2]

Both ways run on the same Ray cluster, the same profile's policy and resources, and the same
SFT step (a few seed programs, one epoch), ``--iterations`` times each:

- restart (the loop before): a learner group spawned and DeepSpeed initialised for the step,
  the checkpoint written by rank 0 to a path, the group killed, and the sampler's vLLM engine
  restarted on that path;
- in place (the loop now): one learner group kept across the steps, its weights handed over
  through Ray's object store, the checkpoint written by the controller from them, and the
  sampler's weights updated in its running engine (``VllmSampler.update_weights``).

Printed per way: seconds per iteration for the hand-off (everything but the SFT step itself),
split into its parts, and the SFT step's own seconds beside it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import ray

import visrep  # noqa: F401  (torchvision fix, offline hubs) before torch/vllm
from actors.sampler import Policy
from rayapps.cluster import connect
from rayapps.learners import LearnerGroup
from rayapps.pools import spawn_samplers
from visrep.cli import cache_dir
from visrep.config import load_config
from visrep.policy.checkpoints import from_arrays, write_checkpoint
from visrep.policy.models import resolve_model
from visrep.selftrain.examples import config_seeds, program_examples


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="default", help="profile whose policy, learner and resources are used")
    parser.add_argument("--iterations", type=int, default=2)
    args = parser.parse_args()
    cfg = load_config(args.config)
    base = resolve_model(cfg.policy, cache_dir())
    seeds = config_seeds(cfg.warm_start.seeds_file)
    examples = program_examples(seeds, seeds, cfg.prompt)[: cfg.learner.batch_size * 2]
    connect(cfg.resources, cfg.resources.learners)
    sampler = spawn_samplers(cfg, base, 0, seeds)[0]
    ray.get(sampler.load.remote(Policy(0, str(base))))
    rows: dict[str, dict[str, list[float]]] = {"restart": {}, "in place": {}}

    def note(way: str, part: str, seconds: float) -> None:
        rows[way].setdefault(part, []).append(seconds)

    with tempfile.TemporaryDirectory() as tmp:
        start = base
        for i in range(1, args.iterations + 1):  # restart: a group per step, a path to the sampler
            group, s = _timed(LearnerGroup, cfg, start)
            note("restart", "spawn + DeepSpeed init", s)
            _, s = _timed(group.train, examples, 1, cfg.learner.lr, i)
            note("restart", "SFT step (not hand-off)", s)
            out, s = _timed(group.save, Path(tmp) / f"restart-{i}")
            note("restart", "rank 0 writes the checkpoint", s)
            group.kill()
            _, s = _timed(ray.get, sampler.load.remote(Policy(i, str(out))))
            note("restart", "sampler engine restart on the path", s)
            start = out
        group, s = _timed(LearnerGroup, cfg, base)
        note("in place", "spawn + DeepSpeed init (once per run: not per iteration)", s)
        for i in range(1, args.iterations + 1):  # in place: one group, weights through the object store
            _, s = _timed(group.train, examples, 1, cfg.learner.lr, i)
            note("in place", "SFT step (not hand-off)", s)
            ref, s = _timed(group.weights)
            note("in place", "weights into the object store", s)
            _, s = _timed(lambda r, out: write_checkpoint(from_arrays(ray.get(r)), base, out),
                          ref, Path(tmp) / f"inplace-{i}")
            note("in place", "controller writes the checkpoint", s)
            _, s = _timed(ray.get, sampler.load.remote(Policy(i, f"in place {i}", ref)))
            note("in place", "sampler updates weights in place", s)
        group.kill()
    print(f"policy {cfg.policy.model}, {len(examples)} examples, {args.iterations} iterations each way "
          "(median seconds per iteration)\n")
    print("| way | part | seconds |\n|---|---|---:|")
    totals = {}
    for way, parts in rows.items():
        for part, seconds in parts.items():
            print(f"| {way} | {part} | {statistics.median(seconds):.2f} |")
        totals[way] = sum(statistics.median(s) for p, s in parts.items() if "not " not in p)
        print(f"| {way} | **hand-off total** | **{totals[way]:.2f}** |")
    print(f"\nhand-off in place / restart: {totals['in place'] / totals['restart']:.3f}")


if __name__ == "__main__":
    main()
