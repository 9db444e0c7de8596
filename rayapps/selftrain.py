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
import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayActorError

from actors.sampler import Policy
from rayapps import redistill
from rayapps.cluster import connect
from rayapps.distill import student_for_tools
from rayapps.inputs import Inputs
from rayapps.learners import LearnerGroup
from rayapps.pipeline import PhaseOutput, Pools, run_eval, run_given, run_phase
from rayapps.pools import spawn_pools, spawn_samplers
from rayapps.tracking import Tracker, summary_line
from visrep.cli import Interrupted, cache_dir, run_main
from visrep.config import Config, PromptConfig, load_config
from visrep.policy.checkpoints import from_arrays, read_weights, to_arrays, write_checkpoint
from visrep.policy.models import check_prompt_lengths, resolve_model
from visrep.programs.baselines import BASELINES, baselines_for
from visrep.selftrain import trajectories as T
from visrep.selftrain.attribution import attribution_metrics, write_calls
from visrep.selftrain.corrections import check_joins_later, config_corrections, corrections_at
from visrep.selftrain.examples import (
    Seed,
    config_seeds,
    example_counts,
    longest_prompts,
    program_examples,
    training_examples,
)
from visrep.selftrain.filtering import select_for_training
from visrep.selftrain.metrics import heldout_table, phase_metrics, solve_rate
from visrep.selftrain.rundir import RunDir, check_run_dir, prepare_run_dir
from visrep.selftrain.tasks import loop_tasks, probe_tasks, run_world, warm_start_reason
from visrep.world.records import Task

FEWSHOT = "fewshot"  # the few-shot base model's row (a phase name, like the baselines')


class SelfTrain:
    """The controller: owns the actor pools, the run directory and the MLflow run."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.rd = RunDir(Path(cfg.run.dir).resolve())
        self.pools: Pools | None = None
        self.tracker: Tracker | None = None
        self.world = Path()
        self.tasks: dict[str, Task] = {}  # every task of the run by id (the phases' views)
        self.seeds: list[Seed] = []  # the warm start's seed programs (the samplers' prompts use them)
        self.base = Path()  # the base model's directory (the samplers and learners are built on it)
        self.learners: LearnerGroup | None = None  # kept across iterations, rebuilt only after a death
        self._held: dict[int, Any] = {}  # iteration -> object ref of its checkpoint's weights (the newest)

    def _checkpoint_weights(self, i: int) -> Any:
        """An object ref of iteration ``i``'s checkpoint weights: the learner's own output when
        this driver trained it, else read from the run directory (a resumed run) and put."""
        if i not in self._held:
            self._held = {i: ray.put(to_arrays(read_weights(self.rd.checkpoint(i).resolve())))}
        return self._held[i]

    def _publish(self, i: int, weights: Any) -> None:
        """Iteration ``i``'s trained weights: written as its checkpoint by the controller (it
        owns the run directory; the learners' nodes need not see it), held for the samplers."""
        write_checkpoint(from_arrays(ray.get(weights)), self.base, self.rd.checkpoint(i))
        self._held = {i: weights}

    def _load_policy(self, i: int | None) -> float:
        """Serve iteration ``i``'s checkpoint (None: the base model) now; every sample call
        names it too (a restarted sampler).  Starts the samplers if the run began without them.
        Returns the seconds it took (the samplers' side of the hand-off)."""
        assert self.pools is not None
        start = time.perf_counter()
        if i is None:
            policy = Policy(0, str(self.base))
        else:
            policy = Policy(i, str(self.rd.checkpoint(i)), self._checkpoint_weights(i))
        self.pools.policy = policy
        if not self.pools.samplers:
            self.pools.samplers = spawn_samplers(self.cfg, self.base, 0, self.seeds)
        ray.get([s.load.remote(policy) for s in self.pools.samplers])
        return time.perf_counter() - start

    def _samples_left(self) -> bool:
        """Whether a stage that samples from the policy is still to run.  A resumed run with
        none (only the baselines without a policy, or a re-distillation) never starts a vLLM
        engine; one with some starts it with the pools, while the other roles get going."""
        done = self.rd.done
        return (not all(done(0, stage) for stage in (FEWSHOT, "init", "eval"))
                or not all(done(i, "grow") and done(i, "eval") for i in range(1, self.cfg.run.iterations + 1)))

    # ---- stages ------------------------------------------------------------------
    def _phase(self, i: int, phase: str, tasks: list[Task], k: int, temperature: float,
               prompt: PromptConfig | None = None) -> PhaseOutput:
        assert self.pools is not None
        return run_phase(self.pools, tasks, iteration=i, phase=phase, k=k, temperature=temperature,
                         prompt=prompt or self.cfg.prompt, batch_tasks=self.cfg.sampler.batch_tasks)

    def _finish_phase(self, i: int, phase: str, out: PhaseOutput,
                      extra: dict[str, float] | None = None) -> dict[str, float]:
        written = [self.rd.trajectories(i, phase)]
        T.write_rows(out.rows, written[0])
        metrics = {**phase_metrics(out.rows, phase), **(extra or {})}
        if self.pools is not None and self.pools.attribution is not None:
            written.append(self.rd.tool_calls(i, phase))
            write_calls(out.calls, written[-1])
            metrics.update(attribution_metrics(out.rows, out.calls, phase, out.rerun_all))
        if out.sample_s:  # a baseline's programs are given, not sampled: no rate to report
            metrics[f"{phase}/tokens_per_s"] = out.tokens / out.sample_s
        # the phase's wall time, and what its actors were busy with (summed over actors and
        # batches, so they overlap each other and the wall time: the pipeline runs them at once)
        metrics[f"time/{phase}_s"] = out.wall_s
        metrics[f"time/{phase}/sample_s"] = out.sample_s
        metrics[f"time/{phase}/execute_s"] = out.execute_s
        metrics[f"{phase}/actor_deaths"] = float(sum(out.deaths.values()))
        metrics[f"{phase}/batches_rerun"] = float(out.batches_rerun)
        assert self.tracker is not None
        self.tracker.log(metrics, step=i)
        self.tracker.phase_views(i, phase, out.rows, self.tasks, self.world, evaluated=phase != "grow")
        self.rd.mark_done(i, phase, metrics, written)
        return metrics

    def _train(self, start: int | None, out: int, examples: list[tuple[str, str]], epochs: int,
               lr: float) -> tuple[dict[str, Any], dict[str, float]]:
        """Fine-tune iteration ``start``'s policy (None: the base model) on ``examples`` into
        iteration ``out``'s, on the run's learner group; returns the learner's stats and the
        seconds spent building the group (0 when it is kept), training, and handing the weights
        over (to the object store, and written as the checkpoint).  The shuffle is seeded by ``run.seed``
        and ``out``: seeds differ from the warm start on, and a resumed iteration trains as its
        first attempt did.  A rank that dies restarts the step from ``start`` with a fresh group
        (``resources.max_restarts`` times); each step starts with a fresh optimiser, so the
        result is the same as an undisturbed one's."""
        restarts, deaths = self.cfg.resources.max_restarts, 0
        while True:
            try:
                t0 = time.perf_counter()
                group = self._learners_at(start)
                t1 = time.perf_counter()
                stats = group.train(examples, epochs, lr, self.cfg.run.seed * 1000 + out)
                t2 = time.perf_counter()
                self._publish(out, group.weights())
                group.version = out
                return stats, {"learners_s": t1 - t0, "train_s": t2 - t1, "handoff_s": time.perf_counter() - t2}
            except RayActorError as exc:
                deaths += 1
                self._drop_learners()
                if deaths > restarts:
                    raise Interrupted(f"iteration {out}: a learner rank died {deaths} times "
                                      f"(resources.max_restarts={restarts})") from exc
                print(f"iteration {out}: a learner rank died ({type(exc).__name__}); "
                      "restarting the training step from its input", flush=True)

    def _learners_at(self, version: int | None) -> LearnerGroup:
        """The learner group, holding iteration ``version``'s policy (None: the base model's):
        the one the run has when it already does, else one built with those weights."""
        if self.learners is not None and self.learners.version != version:
            self._drop_learners()
        if self.learners is None:
            weights = None if version is None else self._checkpoint_weights(version)
            self.learners = LearnerGroup(self.cfg, self.base, version, weights)
        return self.learners

    def _drop_learners(self) -> None:
        """End the learner group (the next improve step builds one from its checkpoint)."""
        if self.learners is not None:
            self.learners.kill()
            self.learners = None

    def _init(self, train: list[Task]) -> None:
        """Iteration 0: probe few-shot prompting; warm-start on seeds if it solves too little
        or the loop samples from another prompt than the probe's."""
        ws = self.cfg.warm_start
        probe = probe_tasks(train, ws.probe_tasks, self.cfg.run.seed)
        self._load_policy(None)
        out = self._phase(0, "probe", probe, self.cfg.sampler.k, self.cfg.sampler.temperature,
                          ws.probe_prompt)
        T.write_rows(out.rows, self.rd.trajectories(0, "probe"))
        rate = solve_rate(out.rows)
        why = warm_start_reason(rate, ws, self.cfg.prompt)
        info: dict[str, Any] = {"init/probe_solved": rate, "init/warm_start": float(bool(why))}
        ckpt = self.rd.checkpoint(0)
        if why:
            print(f"few-shot prompting solved {rate:.0%} of {len(probe)} probe tasks "
                  f"({why}): warm start on {len(self.seeds)} seed programs")
            t0 = time.perf_counter()
            examples = program_examples(self.seeds, self.seeds, self.cfg.prompt)
            epochs = ws.epochs_for(len(examples), self.cfg.learner.batch_size)
            stats, times = self._train(None, 0, examples, epochs, ws.lr)
            info.update({f"init/{k}": v for k, v in stats.items()})
            info.update({f"time/warm_start/{k}": v for k, v in times.items()})
            info["time/warm_start_s"] = time.perf_counter() - t0
        else:
            self.rd.reuse_checkpoint(0, self.base)
        assert self.tracker is not None
        self.tracker.log({**phase_metrics(out.rows, "probe"), **info}, step=0)
        self.rd.mark_done(0, "init", info, [self.rd.trajectories(0, "probe"), ckpt])

    def _improve(self, i: int, tasks: dict[str, Task], corrections: list[Seed]) -> None:
        st, cfg = self.cfg.selftrain, self.cfg
        rows = T.read_rows(self.rd.trajectories(i, "grow"))
        kept = select_for_training(rows, st.reward_threshold, st.dedupe, st.max_per_task)
        parts = training_examples(kept, tasks, self.seeds, corrections_at(i, st, corrections), cfg.prompt,
                                  st.keep_seeds)
        examples = [pair for pairs in parts.values() for pair in pairs]
        info: dict[str, Any] = {"improve/programs_kept": float(len(kept)), **example_counts(parts)}
        t0 = time.perf_counter()
        if examples:
            stats, times = self._train(i - 1, i, examples, cfg.learner.epochs, cfg.learner.lr)
            info.update({f"improve/{k}": v for k, v in stats.items()})
            info.update({f"time/improve/{k}": v for k, v in times.items()})
        else:
            self.rd.reuse_checkpoint(i, self.rd.checkpoint(i - 1).resolve())
            if self.learners is not None and self.learners.version == i - 1:
                self.learners.version = i  # the same weights
        info["time/improve_s"] = time.perf_counter() - t0
        assert self.tracker is not None
        self.tracker.log(info, step=i)
        self.rd.mark_done(i, "improve", info, [self.rd.checkpoint(i)])

    def _baselines(self, heldout: list[Task]) -> None:
        """The rows that need no training, on the held-out tasks, once per run: pass-through
        (one tool call on the task text), the reference programs where the world gives them,
        and the base model prompted few-shot (the probe prompt: the whole API and worked
        examples), greedy like every evaluation."""
        assert self.pools is not None
        for name in baselines_for(heldout):
            if not self.rd.done(0, name):
                out = run_given(self.pools, heldout, BASELINES[name], phase=name,
                                batch_tasks=self.cfg.sampler.batch_tasks)
                metrics = self._finish_phase(0, name, out)
                print(f"baseline {name} held-out accuracy: {summary_line(metrics, name)}")
        if not self.rd.done(0, FEWSHOT):
            self._load_policy(None)
            out = run_eval(self.pools, heldout, iteration=0, prompt=self.cfg.warm_start.probe_prompt,
                           batch_tasks=self.cfg.sampler.greedy_batch_tasks, phase=FEWSHOT)
            metrics = self._finish_phase(0, FEWSHOT, out)
            print(f"baseline {FEWSHOT} (base model, probe prompt) held-out accuracy: {summary_line(metrics, FEWSHOT)}")

    def _eval(self, i: int, heldout: list[Task]) -> None:
        load_s = self._load_policy(i)
        assert self.pools is not None
        out = run_eval(self.pools, heldout, iteration=i, prompt=self.cfg.prompt,
                       batch_tasks=self.cfg.sampler.greedy_batch_tasks)
        metrics = self._finish_phase(i, "eval", out, {"time/eval/policy_load_s": load_s})
        print(f"iteration {i} held-out accuracy: {summary_line(metrics, 'eval')}")

    def _release(self) -> None:
        """Kill the run's actors, so their resources are free the moment it ends (another run
        in the same driver, as in tests, would otherwise wait on them)."""
        if self.pools is not None:
            for actor in (*self.pools.samplers, *self.pools.executors, *self.pools.scorers):
                ray.kill(actor)
            self.pools = None
        self._drop_learners()

    # ---- the loop ----------------------------------------------------------------
    def run(self) -> int:
        # Every input the config names is checked before config.yaml claims the run dir, so a
        # corrected command is never refused as "a different config"; the world (built into
        # the run dir) is guarded by its own manifest.
        given = self.cfg  # what config.yaml records (the student dir as the user gave it)
        check_run_dir(self.rd, given)
        self.seeds = config_seeds(self.cfg.warm_start.seeds_file)
        self.base = base = resolve_model(self.cfg.policy, cache_dir())
        self.world = world = run_world(self.rd.root, self.cfg.world)
        train, heldout = loop_tasks(world, self.cfg.world.kinds, self.cfg.selftrain.eval_tasks, self.cfg.run.seed,
                                    self.cfg.world.splits)
        for what, prompt in (("prompt", self.cfg.prompt), ("probe prompt", self.cfg.warm_start.probe_prompt)):
            check_prompt_lengths(base, longest_prompts((*train, *heldout), self.seeds, prompt),
                                 self.cfg.policy.max_model_len, what)
        # the student last: when none is named it is distilled here (minutes at real size)
        visual, student = student_for_tools(self.cfg.visual, self.cfg.run.mlflow_uri)
        self.cfg = cfg = dataclasses.replace(self.cfg, visual=visual)
        self.tasks = {t.id: t for t in (*train, *heldout)}
        corrections = config_corrections(cfg.selftrain, train)
        check_joins_later(self.rd, cfg.selftrain)
        prepare_run_dir(self.rd, given)
        connect(cfg.resources, cfg.resources.learners)
        self.tracker = Tracker(cfg, self.rd.root)
        if student:
            self.tracker.log(student, step=0)
        print(f"run {self.rd.root} | {len(train)} train / {len(heldout)} held-out tasks | "
              f"MLflow run {self.tracker.run_id}: {self.tracker.page()}")
        if corrections:
            print(f"{len(corrections)} corrections ({cfg.selftrain.corrections_file}) join improve "
                  f"from iteration {cfg.selftrain.corrections_from}")
        status = "FAILED"
        try:
            self.cfg = cfg = dataclasses.replace(cfg, visual=dataclasses.replace(
                cfg.visual, student_dir=redistill.current_student(cfg, self.rd)))
            inputs = Inputs.of(cfg.visual, world, ship_world=not cfg.world.dir)  # built here: on this disk alone
            self.pools = spawn_pools(cfg, inputs, base, 0, self.seeds, samplers=self._samples_left())
            self._baselines(heldout)
            if not self.rd.done(0, "init"):
                self._init(train)
            if not self.rd.done(0, "eval"):
                self._eval(0, heldout)
            by_id = {t.id: t for t in train}
            for i in range(1, cfg.run.iterations + 1):
                if not self.rd.done(i, "grow"):
                    load_s = self._load_policy(i - 1)
                    out = self._phase(i, "grow", train, cfg.sampler.k, cfg.sampler.temperature)
                    self._finish_phase(i, "grow", out, {"time/grow/policy_load_s": load_s})
                if not self.rd.done(i, "improve"):
                    self._improve(i, by_id, corrections)
                if not self.rd.done(i, "eval"):
                    self._eval(i, heldout)
                if redistill.due(cfg, i) and not self.rd.done(i, redistill.STAGE):
                    self._drop_learners()  # its CPUs: the distillation task asks for a rank's (one node: the same)
                    metrics, student_dir = redistill.run_stage(self.cfg, self.rd, i, self.pools, world, heldout)
                    self.tracker.log(metrics, step=i)
                    self.rd.mark_done(i, redistill.STAGE, {**metrics, "student_dir": student_dir})
            report = self._report(heldout)
            self.tracker.text(report, "report/heldout_accuracy.txt")
            status = "FINISHED"
        except KeyboardInterrupt:  # Ctrl-C: run_main says it in one line
            status = "KILLED"
            raise
        finally:
            self.tracker.close(status)
            self._release()
        print(report)
        return 0

    def _report(self, heldout: list[Task]) -> str:
        """Held-out accuracy per baseline and iteration, per task kind and split (from the
        stage markers): printed at the end, and an artifact of the MLflow run."""
        evals = {i: self.rd.stage_info(i, "eval") for i in range(self.cfg.run.iterations + 1)
                 if self.rd.done(i, "eval")}
        baselines = {name: self.rd.stage_info(0, name) for name in (*BASELINES, FEWSHOT) if self.rd.done(0, name)}
        splits = list(dict.fromkeys(t.split for t in heldout))
        warm = bool(self.rd.stage_info(0, "init").get("init/warm_start")) if self.rd.done(0, "init") else False
        return heldout_table(evals, sorted(self.cfg.world.kinds), splits, baselines, warm)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rayapps.selftrain", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="default",
                        help="profile name under configs/ (default, tiny, paper) or a YAML path")
    parser.add_argument("--check-cluster", metavar="CLUSTER_YAML", type=Path,
                        help="only print how the run's actors fit that Ray cluster config (exit 2: they cannot)")
    parser.add_argument("overrides", nargs="*", metavar="a.b=value", help="config overrides")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user errors print one line and exit 2, leaving the run dir consistent."""
    args = _parser().parse_args(argv)
    if args.check_cluster:
        from rayapps.placement import check_cluster  # only this flag needs it

        cluster = args.check_cluster
        return run_main("selftrain", lambda: check_cluster(load_config(args.config, args.overrides), cluster))
    return run_main("selftrain", lambda: SelfTrain(load_config(args.config, args.overrides)).run())


if __name__ == "__main__":
    sys.exit(main())
