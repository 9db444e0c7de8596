"""Sampler and learner actor classes on the tiny policy (no Ray): the grow/improve hand-off,
the check the loop depends on (SFT -> HF checkpoint -> vLLM greedily writes the program).

The learner fine-tunes on one seed program and hands its weights over in memory (and writes
them as an HF checkpoint); the sampler, started on the base model, must really swap to those
weights on ``load`` (in place, in the running engine) and then write the trained program
greedily, exactly as an engine restarted on the checkpoint does.  (Learner first: vLLM's in-process engine and a
DeepSpeed process group do not share a process; in the loop they are separate actors.)
"""

import os
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from actors.learner import LearnerActor
from actors.sampler import SCRATCH_PREFIX, Policy, SamplerActor
from visrep.cli import cache_dir
from visrep.config import load_config
from visrep.policy.models import resolve_model
from visrep.selftrain.examples import Seed, training_pair
from visrep.world.records import Task

pytestmark = pytest.mark.engines  # tests/conftest.py: one worker, in file order

CFG = load_config("tiny")
SEED = Seed("vqa/0", "vqa", "How many stars are there?", 'return str(image.count("star"))')
TASK = Task("vqa/0", "vqa", SEED.text, ("img",), {"answer": "2"})


@pytest.mark.slow
def test_learner_checkpoint_is_what_the_sampler_serves_after_load(tmp_path: Path) -> None:
    base = resolve_model(CFG.policy, cache_dir())
    pair = training_pair(SEED.kind, SEED.text, SEED.body, [SEED], CFG.prompt)
    learner = LearnerActor(str(base), replace(CFG.learner, lr=1e-2), 0, 1)
    try:
        learner.start(*learner.rendezvous(lambda: "10.0.0.1"))  # one rank: loopback, whatever the node
        stats = learner.train([pair] * 4, epochs=60, lr=1e-2, seed=0)
        weights = learner.weights()
        ckpt = learner.save(str(tmp_path / "ckpt"))
    finally:
        learner.close()
    assert stats["steps"] == 60 and stats["tokens_per_s"] > 0
    assert stats["last_loss"] < 0.1 * stats["first_loss"], stats

    temp, env = tempfile.gettempdir(), os.environ.get("TMPDIR")
    rendezvous = set(Path(temp).glob("vllm_dist_*"))
    handles = {"iteration-1": weights}
    sampler = SamplerActor(str(base), 0, CFG.policy, CFG.sampler, [SEED], seed=0, fetch=handles.pop)
    try:
        before = sampler.sample([TASK], k=2, temperature=1.0, prompt=CFG.prompt)
        sampler.load(Policy(1, "iteration 1", "iteration-1"))
        [[greedy]] = sampler.sample([TASK], k=1, temperature=0.0, prompt=CFG.prompt).programs
        sampler.load(Policy(1, "iteration 1", "iteration-1"))  # served already: not fetched again
        sampler.load(Policy(2, ckpt))  # a model directory: the engine restarts on it
        [[restarted]] = sampler.sample([TASK], k=1, temperature=0.0, prompt=CFG.prompt).programs
    finally:
        sampler.close()
    # vLLM's temp files went to the sampler's own dir, gone with it; the process's temp dir is as it was
    assert set(Path(temp).glob("vllm_dist_*")) == rendezvous
    assert not list(Path(temp).glob(f"{SCRATCH_PREFIX}{os.getpid()}-*"))
    assert (tempfile.gettempdir(), os.environ.get("TMPDIR")) == (temp, env)
    assert len(before.programs) == 1 and len(before.programs[0]) == 2 and before.tokens > 0
    assert all(p.policy_version == 0 and p.task_id == TASK.id for p in before.programs[0])
    assert greedy.policy_version == 1 and restarted.policy_version == 2 and not handles
    assert greedy.source == "def execute_command(image):\n" + pair[1]
    assert (restarted.completion, restarted.logprob) == (greedy.completion, greedy.logprob)
