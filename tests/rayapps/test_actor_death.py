"""A role actor SIGKILLed (by PID) in the middle of a grow phase: Ray restarts it, the
pipeline re-issues the batches its death failed, and the phase still yields exactly
tasks x K rows with no (task, sample) pair twice; the death is printed and counted.

To be sure the victim dies with work queued on it (not idle between batches), it is first
kept busy by a blocking call; the phase's calls queue behind that call (the sampler warmed
up first, so batches reach the executor and scorer within the first seconds), and the kill
lands while they wait.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rayapps.inputs import Inputs
from rayapps.pipeline import run_phase
from rayapps.pools import spawn_pools
from visrep.cli import cache_dir
from visrep.config import load_config
from visrep.policy.models import resolve_model
from visrep.selftrain import trajectories as T
from visrep.selftrain.examples import config_seeds
from visrep.selftrain.tasks import loop_tasks, run_world

pytestmark = [pytest.mark.ray, pytest.mark.slow]

CFG = load_config("tiny", ["visual.backend=oracle", "sampler.batch_tasks=2", "resources.max_restarts=2",
                          "resources.executors=2"])  # two: each batch in two parts, one per executor
BUSY_S, KILL_AFTER_S = 6.0, 3.0  # the warm sampler finishes a batch every ~0.5 s


# lambdas: pickled by value, so the actors need not import this module
_pid = lambda actor: os.getpid()  # noqa: E731
_busy = lambda actor, seconds: time.sleep(seconds)  # noqa: E731


def _kill_while_busy(victim: Any) -> threading.Thread:
    """Occupy ``victim``, then SIGKILL its process while the phase's calls queue behind."""
    import ray

    pid = ray.get(victim.__ray_call__.remote(_pid))
    victim.__ray_call__.remote(_busy, BUSY_S)  # fails with the kill; nobody waits on it
    killer = threading.Thread(target=lambda: (time.sleep(KILL_AFTER_S), os.kill(pid, signal.SIGKILL)))
    killer.start()
    return killer


def test_a_sampler_executor_or_scorer_killed_mid_grow_costs_nothing_but_time(
        tmp_path: Path, ray_cluster: None, capsys: pytest.CaptureFixture[str]) -> None:
    world = run_world(tmp_path / "run", CFG.world)
    train, _ = loop_tasks(world, CFG.world.kinds, 0, 0)
    base = resolve_model(CFG.policy, cache_dir())
    pools = spawn_pools(CFG, Inputs.of(CFG.visual, world, ship_world=True), base, 0,
                        config_seeds(CFG.warm_start.seeds_file))
    import ray

    try:
        ray.get(pools.samplers[0].sample.remote(train[:2], 2, 0.8, CFG.prompt, pools.policy))  # warm-up
        # the sampler last: a restarted one is cold again (its first batch takes seconds)
        for role, actors in (("executor", pools.executors), ("scorer", pools.scorers),
                             ("sampler", pools.samplers)):
            before = ray.get(actors[0].__ray_call__.remote(_pid))
            killer = _kill_while_busy(actors[0])
            out = run_phase(pools, train, iteration=1, phase="grow", k=CFG.sampler.k,
                            temperature=CFG.sampler.temperature, prompt=CFG.prompt,
                            batch_tasks=CFG.sampler.batch_tasks)
            killer.join()
            assert ray.get(actors[0].__ray_call__.remote(_pid)) != before, role  # a new process
            assert len(out.rows) == len(train) * CFG.sampler.k, role
            pairs = {(row[T.TASK_ID], row[T.SAMPLE]) for row in out.rows}
            assert len(pairs) == len(out.rows), role  # no (task, sample) twice
            assert {row[T.TASK_ID] for row in out.rows} == {t.id for t in train}, role
            assert out.deaths == {f"{role}-0": 1}, (role, out.deaths)
            assert out.batches_rerun >= 1, role  # the kill landed on queued work
            printed = capsys.readouterr()
            assert f"iter 1 grow: {role}-0 died 1 time, restarted by Ray; {out.batches_rerun} batches re-run" \
                in printed.out, printed.out[-2000:]
    finally:
        for actor in pools.named().values():
            ray.kill(actor)


def test_a_learner_rank_killed_mid_step_restarts_the_step_from_its_input(
        tmp_path: Path, ray_cluster: None, capsys: pytest.CaptureFixture[str]) -> None:
    import psutil
    import torch
    from safetensors.torch import load_file

    from rayapps.selftrain import SelfTrain
    from visrep.selftrain.examples import program_examples
    from visrep.selftrain.rundir import RunDir

    base = resolve_model(CFG.policy, cache_dir())
    seeds = config_seeds(CFG.warm_start.seeds_file)
    examples = program_examples(seeds, seeds, CFG.prompt)
    st = SelfTrain(CFG)
    st.base = base
    killed: list[int] = []

    def kill_in_train() -> None:  # the rank's process while it runs ``train`` (Ray's process title)
        deadline = time.monotonic() + 300
        while not killed and time.monotonic() < deadline:
            for proc in psutil.process_iter(["pid", "cmdline"]):
                if "ray::LearnerActor.train" in " ".join(proc.info["cmdline"] or ()):
                    os.kill(proc.info["pid"], signal.SIGKILL)
                    killed.append(proc.info["pid"])
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_in_train)
    killer.start()
    try:
        st.rd = RunDir(tmp_path / "disturbed")
        disturbed, _ = st._train(None, 1, examples, 1, 1e-4)
        killer.join()
        assert killed, "the learner was never seen training"
        assert "iteration 1: a learner rank died (" in capsys.readouterr().out
        st.rd = RunDir(tmp_path / "undisturbed")
        undisturbed, _ = st._train(None, 1, examples, 1, 1e-4)  # the group holds iteration 1: a new one
    finally:
        st._release()
    assert disturbed["loss"] == pytest.approx(undisturbed["loss"], rel=1e-5)
    a, b = (load_file(next(RunDir(tmp_path / d).checkpoint(1).glob("*.safetensors")))
            for d in ("disturbed", "undisturbed"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
