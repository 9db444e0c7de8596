"""``python -m rayapps.selftrain [--config PROFILE] [a.b=value ...]``: the self-training job.

One controller drives grow → improve → evaluate for ``run.iterations`` iterations over
Ray actors (samplers with vLLM, executors with the sandbox, scorers, DeepSpeed learner
ranks).  Each stage writes its output under the run directory and then a marker, so
rerunning the same command resumes after the last finished stage.  Everything is logged
to one MLflow run.  With no ``RAY_ADDRESS`` it starts a local cluster, so the same command
runs on a laptop and under ``ray job submit``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ray
import yaml

from actors.executor import ExecutorActor
from actors.learner import LearnerActor
from actors.sampler import SamplerActor
from actors.scorer import ScorerActor
from rayapps.cluster import actor_options, connect
from rayapps.pipeline import PhaseOutput, Pools, run_phase
from rayapps.tracking import Tracker, summary_line
from visrep.config import CONFIG_DIR, Config, ConfigError, PromptConfig, load_config, to_dict
from visrep.policy.models import resolve_model
from visrep.selftrain import trajectories as T
from visrep.selftrain.examples import Seed, load_seeds, program_body, training_pair
from visrep.selftrain.filtering import select_for_training
from visrep.selftrain.metrics import phase_metrics
from visrep.selftrain.rundir import RunDir
from visrep.world import build_world_from, load_tasks
from visrep.world.records import Task

# Keys a rerun may change without invalidating what the run directory holds.
RESUMABLE_CHANGES = {"run.iterations", "run.mlflow_uri"}


class SetupError(RuntimeError):
    """The run cannot start as asked (mismatched run dir, missing file); one-line message."""


def cache_dir() -> Path:
    """Where converted base models live between runs (``VISREP_CACHE`` or ~/.cache/visrep)."""
    return Path(os.environ.get("VISREP_CACHE", Path.home() / ".cache" / "visrep"))


def resolve_path(path: str) -> Path:
    """A config path: as given if it exists (absolute or from the cwd), else from the repo."""
    candidate = Path(path)
    if candidate.exists() or candidate.is_absolute():
        return candidate
    return CONFIG_DIR.parent / path


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return out


def prepare_run_dir(rd: RunDir, cfg: Config) -> None:
    """Write config.yaml on the first start; on a rerun, refuse a config that changed."""
    path = rd.root / "config.yaml"
    current = to_dict(cfg)
    if path.is_file():
        before = _flat(yaml.safe_load(path.read_text()))
        changed = sorted(k for k, v in _flat(current).items()
                         if before.get(k) != v and k not in RESUMABLE_CHANGES | {"run.dir"})
        if changed:
            raise SetupError(f"{rd.root} holds a run with a different config ({', '.join(changed)}); "
                             "use a new run.dir to start over")
    rd.root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".config.yaml.tmp")
    tmp.write_text(yaml.safe_dump(current, sort_keys=False))
    os.replace(tmp, path)


class SelfTrain:
    """The controller: owns the actor pools, the run directory and the MLflow run."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.rd = RunDir(Path(cfg.run.dir).resolve())
        self.pools: Pools | None = None
        self.tracker: Tracker | None = None

    # ---- setup -------------------------------------------------------------------
    def _world(self) -> Path:
        w = self.cfg.world
        if w.dir:
            root = resolve_path(w.dir)
            if not root.is_dir():
                raise SetupError(f"world.dir {root} does not exist")
            return root
        root = self.rd.root / "world"
        build_world_from(root, w)
        return root

    def _spawn(self, world: Path, model_dir: Path, version: int, seeds: list[Seed]) -> Pools:
        cfg, res = self.cfg, self.cfg.resources
        sampler_cls = ray.remote(SamplerActor)
        samplers = [
            sampler_cls.options(**actor_options(res.sampler_cpus, res.sampler_gpus, {
                "VLLM_CPU_KVCACHE_SPACE": str(cfg.sampler.kv_cache_gib)})).remote(
                f"sampler-{n}", str(model_dir), version, cfg.policy, cfg.sampler, seeds,
                cfg.run.seed + n)
            for n in range(res.samplers)
        ]
        executors = [ray.remote(ExecutorActor).options(**actor_options(res.executor_cpus, 0))
                     .remote(str(world), cfg.visual, cfg.executor) for _ in range(res.executors)]
        scorers = [ray.remote(ScorerActor).options(**actor_options(res.scorer_cpus, 0)).remote()
                   for _ in range(res.scorers)]
        return Pools(samplers, executors, scorers)

    def _load_policy(self, model_dir: Path, version: int) -> None:
        assert self.pools is not None
        ray.get([s.load.remote(str(model_dir), version) for s in self.pools.samplers])

    # ---- stages ------------------------------------------------------------------
    def _phase(self, i: int, phase: str, tasks: list[Task], k: int, temperature: float,
               prompt: PromptConfig | None = None) -> PhaseOutput:
        assert self.pools is not None
        return run_phase(self.pools, tasks, iteration=i, phase=phase, k=k, temperature=temperature,
                         prompt=prompt or self.cfg.prompt, batch_tasks=self.cfg.sampler.batch_tasks)

    def _finish_phase(self, i: int, phase: str, out: PhaseOutput, extra: dict[str, float]) -> dict[str, float]:
        T.write_rows(out.rows, self.rd.trajectories(i, phase))
        metrics = phase_metrics(out.rows, phase)
        metrics[f"{phase}/tokens_per_s"] = out.tokens / out.sample_s if out.sample_s else 0.0
        metrics[f"time/{phase}_s"] = out.wall_s
        metrics.update(extra)
        assert self.tracker is not None
        self.tracker.log(metrics, step=i)
        self.rd.mark_done(i, phase, metrics)
        return metrics

    def _train(self, start: Path, out: Path, examples: list[tuple[str, str]], epochs: int,
               lr: float) -> dict[str, Any]:
        """Fine-tune ``start`` on ``examples`` with a fresh learner group; save to ``out``."""
        cfg, res = self.cfg, self.cfg.resources
        ranks = res.learners
        port = _free_port()
        addr = "127.0.0.1" if ranks == 1 else ray.util.get_node_ip_address()
        learner_cls = ray.remote(LearnerActor).options(**actor_options(res.learner_cpus, res.learner_gpus))
        group = [learner_cls.remote(str(start), cfg.learner, r, ranks, addr, port) for r in range(ranks)]
        try:
            stats = ray.get([g.train.remote(examples, epochs, lr) for g in group])[0]
            ray.get([g.save.remote(str(out)) for g in group])
            ray.get([g.close.remote() for g in group])
        finally:
            for g in group:
                ray.kill(g)
        return stats

    def _init(self, base: Path, train: list[Task], seeds: list[Seed]) -> None:
        """Iteration 0: probe few-shot prompting; warm-start on seeds if it solves too little."""
        ws = self.cfg.warm_start
        probe = random.Random(self.cfg.run.seed).sample(train, min(ws.probe_tasks, len(train)))
        out = self._phase(0, "probe", probe, self.cfg.sampler.k, self.cfg.sampler.temperature,
                          ws.probe_prompt)
        T.write_rows(out.rows, self.rd.trajectories(0, "probe"))
        solved = phase_metrics(out.rows, "probe")
        rate = _mean([v for k, v in solved.items() if k.startswith("probe/solved/")])
        info: dict[str, Any] = {"init/probe_solved": rate, "init/warm_start": float(rate < ws.min_solve_rate)}
        ckpt = self.rd.checkpoint(0)
        if rate < ws.min_solve_rate:
            print(f"few-shot prompting solved {rate:.0%} of {len(probe)} probe tasks "
                  f"(< {ws.min_solve_rate:.0%}): warm start on {len(seeds)} seed programs")
            examples = [training_pair(s.kind, s.text, s.body, seeds, self.cfg.prompt) for s in seeds]
            t0 = time.perf_counter()
            stats = self._train(base, ckpt, examples, ws.epochs, ws.lr)
            info.update({f"init/{k}": v for k, v in stats.items()})
            info["time/warm_start_s"] = time.perf_counter() - t0
        else:
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            ckpt.symlink_to(base, target_is_directory=True)
        assert self.tracker is not None
        self.tracker.log({**solved, **info}, step=0)
        self.rd.mark_done(0, "init", info)

    def _improve(self, i: int, tasks: dict[str, Task], seeds: list[Seed]) -> None:
        st, cfg = self.cfg.selftrain, self.cfg
        rows = T.read_rows(self.rd.trajectories(i, "grow"))
        kept = select_for_training(rows, st.reward_threshold, st.dedupe, st.max_per_task)
        examples = [training_pair(tasks[r[T.TASK_ID]].kind, tasks[r[T.TASK_ID]].text,
                                  program_body(r[T.SOURCE]), seeds, cfg.prompt) for r in kept]
        if st.keep_seeds:
            examples += [training_pair(s.kind, s.text, s.body, seeds, cfg.prompt) for s in seeds]
        info: dict[str, Any] = {"improve/programs_kept": float(len(kept)),
                                "improve/examples": float(len(examples))}
        t0 = time.perf_counter()
        prev, ckpt = self.rd.checkpoint(i - 1).resolve(), self.rd.checkpoint(i)
        if examples:
            stats = self._train(prev, ckpt, examples, cfg.learner.epochs, cfg.learner.lr)
            info.update({f"improve/{k}": v for k, v in stats.items()})
        else:
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            ckpt.symlink_to(prev, target_is_directory=True)
        info["time/improve_s"] = time.perf_counter() - t0
        assert self.tracker is not None
        self.tracker.log(info, step=i)
        self.rd.mark_done(i, "improve", info)

    def _eval(self, i: int, heldout: list[Task]) -> dict[str, float]:
        self._load_policy(self.rd.checkpoint(i).resolve(), i)
        out = self._phase(i, "eval", heldout, 1, 0.0)
        metrics = self._finish_phase(i, "eval", out, {})
        print(f"iteration {i} held-out accuracy: {summary_line(metrics, 'eval')}")
        return metrics

    # ---- the loop ----------------------------------------------------------------
    def run(self) -> int:
        cfg = self.cfg
        prepare_run_dir(self.rd, cfg)
        world = self._world()
        train = [t for t in load_tasks(world, "train") if t.kind in cfg.world.kinds]
        heldout = [t for t in load_tasks(world, "heldout") if t.kind in cfg.world.kinds]
        if cfg.selftrain.eval_tasks:
            heldout = random.Random(cfg.run.seed).sample(heldout, min(cfg.selftrain.eval_tasks, len(heldout)))
        if not train or not heldout:
            raise SetupError(f"{world}: no train or held-out tasks of kinds {list(cfg.world.kinds)}")
        seeds_file = resolve_path(cfg.warm_start.seeds_file)
        if not seeds_file.is_file():
            raise SetupError(f"warm_start.seeds_file {seeds_file} does not exist")
        seeds = load_seeds(seeds_file)
        base = resolve_model(cfg.policy, cache_dir())
        connect(cfg.resources, cfg.resources.learners)
        self.tracker = Tracker(cfg, self.rd.root)
        print(f"run {self.rd.root} | MLflow run {self.tracker.run_id} at {cfg.run.mlflow_uri} | "
              f"{len(train)} train / {len(heldout)} held-out tasks")
        status = "FAILED"
        try:
            start = self.rd.checkpoint(0).resolve() if self.rd.done(0, "init") else base
            self.pools = self._spawn(world, start, 0, seeds)
            if not self.rd.done(0, "init"):
                self._init(base, train, seeds)
            if not self.rd.done(0, "eval"):
                self._eval(0, heldout)
            by_id = {t.id: t for t in train}
            for i in range(1, cfg.run.iterations + 1):
                if not self.rd.done(i, "grow"):
                    self._load_policy(self.rd.checkpoint(i - 1).resolve(), i - 1)
                    out = self._phase(i, "grow", train, cfg.sampler.k, cfg.sampler.temperature)
                    self._finish_phase(i, "grow", out, {})
                if not self.rd.done(i, "improve"):
                    self._improve(i, by_id, seeds)
                if not self.rd.done(i, "eval"):
                    self._eval(i, heldout)
            status = "FINISHED"
        finally:
            self.tracker.close(status)
        self._report()
        return 0

    def _report(self) -> None:
        """Print held-out accuracy per iteration and task kind (from the stage markers)."""
        kinds = sorted(self.cfg.world.kinds)
        print("held-out accuracy per iteration: " + " ".join(f"{k:>9}" for k in kinds))
        for i in range(self.cfg.run.iterations + 1):
            if self.rd.done(i, "eval"):
                info = self.rd.stage_info(i, "eval")
                print(f"  iteration {i:2d}".ljust(33) + " ".join(
                    f"{info.get(f'eval/reward/{k}', float('nan')):9.3f}" for k in kinds))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rayapps.selftrain", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="default",
                        help="profile name under configs/ (default, tiny, paper) or a YAML path")
    parser.add_argument("overrides", nargs="*", metavar="a.b=value", help="config overrides")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user errors print one line and exit 2, leaving the run dir consistent."""
    args = _parser().parse_args(argv)
    try:
        cfg = load_config(args.config, args.overrides)
        return SelfTrain(cfg).run()
    except (ConfigError, SetupError, FileNotFoundError, ValueError) as exc:
        if os.environ.get("VISREP_DEBUG"):
            raise
        print(f"selftrain: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
