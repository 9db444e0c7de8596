"""The executor's memo on real samples: hit rate and tool time, with and without it, one run.

    python bench/memo_real.py --run runs/default --student DIR [--iteration 1] [--tasks 96]
    python bench/memo_real.py --run runs/default --student DIR --distinct 8 --draws 32

Reads a finished run's grow programs (the K programs the policy sampled for each task, as
written: distinct or not, whatever the policy wrote), or with ``--distinct K`` samples anew
from the policy that grew that iteration (its checkpoint, the run's prompt and sampling
settings, ``--draws`` completions a task) and keeps up to K distinct programs a task; then
runs them again through the executor, with the memo and without it, on the run's world with the student's tools
(``--student``: the student dir the run used, e.g. ``~/.cache/visrep/students/default-*/student``).
Tool time is the time spent inside the student (every method call that reaches it, timed); a
fresh student for each setting, so neither finds the other's per-image features.
``bench/sandbox.py`` measures the same with the seed program repeated K times (the upper
bound of sharing) and a synthetic tool cost; this is the figure on what sampling gives.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox import CostlyBackend  # noqa: E402  (a sibling bench; it imports visrep first)

from visrep.config import Config, ExecutorConfig  # noqa: E402
from visrep.policy.sampling import VllmSampler  # noqa: E402
from visrep.programs.executor import ProgramExecutor  # noqa: E402
from visrep.programs.text import STOP, extract_program  # noqa: E402
from visrep.selftrain import trajectories as T  # noqa: E402
from visrep.selftrain.examples import config_seeds, prompt_for  # noqa: E402
from visrep.selftrain.rundir import RunDir, run_config  # noqa: E402
from visrep.visual.backend import make_backend  # noqa: E402
from visrep.world import load_scenes, load_tasks  # noqa: E402
from visrep.world.loaders import images_dir  # noqa: E402
from visrep.world.records import Task  # noqa: E402


def sampled_programs(run: RunDir, cfg: Config, iteration: int, tasks: list[Task], distinct: int,
                     draws: int) -> list[tuple[str, Task]]:
    """Up to ``distinct`` different programs a task, out of ``draws`` completions of the policy
    that grew ``iteration`` (the checkpoint before it), sampled as its grow phase sampled."""
    seeds = config_seeds(cfg.warm_start.seeds_file)
    sampler = VllmSampler(run.checkpoint(iteration - 1), cfg.policy, cfg.sampler, seed=cfg.run.seed)
    try:
        outs = sampler.sample([prompt_for(t.kind, t.text, seeds, cfg.prompt) for t in tasks], n=draws,
                              temperature=cfg.sampler.temperature, top_p=cfg.sampler.top_p,
                              top_k=cfg.sampler.top_k, max_tokens=cfg.sampler.max_tokens,
                              seed=cfg.run.seed, stop=STOP)
    finally:
        sampler.close()
    return [(source, task) for task, completions in zip(tasks, outs)
            for source in list(dict.fromkeys(extract_program(c.text) for c in completions))[:distinct]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="a finished run's directory")
    ap.add_argument("--student", required=True, help="the student dir its tools used")
    ap.add_argument("--iteration", type=int, default=1)
    ap.add_argument("--tasks", type=int, default=96, help="the first this many grow tasks")
    ap.add_argument("--distinct", type=int, default=0,
                    help="sample anew: up to this many distinct programs a task (0: the grow programs)")
    ap.add_argument("--draws", type=int, default=32, help="with --distinct: completions sampled a task")
    args = ap.parse_args(argv)
    run = RunDir(args.run.resolve())
    world = args.run.resolve() / "world"
    rows = T.read_rows(run.trajectories(args.iteration, "grow"))
    tasks = {t.id: t for t in load_tasks(world)}
    chosen = list(dict.fromkeys(r[T.TASK_ID] for r in rows))[:args.tasks]
    if args.distinct:
        programs = sampled_programs(run, run_config(run), args.iteration, [tasks[t] for t in chosen],
                                    args.distinct, args.draws)
        source = f"sampled anew ({args.draws} draws a task, up to {args.distinct} distinct kept)"
    else:
        wanted = set(chosen)
        programs = [(r[T.SOURCE], tasks[r[T.TASK_ID]]) for r in rows if r[T.TASK_ID] in wanted]
        source = "as grow wrote them"
    k = len(programs) / len(chosen)
    distinct = sum(len({p for p, t in programs if t.id == c}) for c in chosen) / len(chosen)
    scenes = load_scenes(world)
    sizes = {i: (s.width, s.height) for i, s in scenes.items()}
    limits = ExecutorConfig()
    figures: dict[str, dict[str, float]] = {}
    for use_memo in (False, True):
        # a fresh student each time: it keeps per-image features of its own, so a second run on
        # the same one would find them computed
        backend = CostlyBackend(make_backend("student", scenes, images_dir(world), args.student), 0.0)
        with ProgramExecutor(backend, sizes, limits, memo=use_memo) as executor:
            start = time.perf_counter()
            results = executor.run(programs)
            wall = time.perf_counter() - start
            hits, misses = (executor.memo.hits, executor.memo.misses) if executor.memo else (0, 0)
        figures["memo" if use_memo else "no memo"] = {
            "tool_s": backend.seconds, "backend_calls": backend.calls, "hits": hits, "misses": misses,
            "api_calls": sum(r.api_calls for r in results), "wall_s": wall}
    on, off = figures["memo"], figures["no memo"]
    print(f"{len(programs)} grow programs of iteration {args.iteration}, {source} ({len(chosen)} tasks, "
          f"{k:.2f} programs and {distinct:.2f} distinct programs a task), student tools:")
    for name, f in figures.items():
        print(f"  {name:8s} tool calls {f['api_calls']:6.0f}, student methods called {f['backend_calls']:6.0f}, "
              f"time in the student {f['tool_s']:7.2f} s, wall {f['wall_s']:7.2f} s")
    print(f"  memo hit rate {on['hits'] / max(on['hits'] + on['misses'], 1):.1%} of {on['hits'] + on['misses']:.0f} "
          f"lookups; time in the student without / with the memo {off['tool_s'] / max(on['tool_s'], 1e-9):.2f}x; "
          f"wall {off['wall_s'] / on['wall_s']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
