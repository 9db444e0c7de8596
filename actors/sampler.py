"""Sampler role: one vLLM engine writing K programs per task."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visrep.config import PolicyConfig, PromptConfig, SamplerConfig
from visrep.policy.checkpoints import WeightArrays, from_arrays
from visrep.policy.sampling import VllmSampler
from visrep.programs.records import Program, SampleBatch
from visrep.programs.text import STOP, extract_program
from visrep.scratch import owned_dir, temp_dir_at
from visrep.selftrain.examples import Seed, prompt_for
from visrep.world.records import Task

SCRATCH_PREFIX = "visrep-sampler-"


@dataclass(frozen=True)
class Policy:
    """What the samplers must serve: ``version`` (recorded on every program it writes), named
    ``name`` (a model directory, or a checkpoint the controller holds), whose ``weights`` (a
    handle on the learner's state dict in Ray's object store; None: load the directory
    ``name``) reach a sampler on any node without a shared path.  Ray does not resolve a
    handle inside an argument, so a sampler fetches the weights only when it is to serve
    another ``name``."""

    version: int
    name: str
    weights: Any = None


class SamplerActor:
    """Owns one engine, built on a model directory; ``load`` swaps in the policy a phase samples."""

    def __init__(self, model_dir: str, version: int, policy: PolicyConfig, sampler: SamplerConfig,
                 seeds: list[Seed], seed: int, fetch: Callable[[Any], WeightArrays]) -> None:
        self._cfg = sampler
        self._fetch = fetch  # a weights handle -> the weights (``ray.get``: actors stay plain classes)
        self._seeds = seeds
        self._seed = seed
        self._version = version
        self._serving = str(Path(model_dir).resolve())  # the name of the policy it serves
        # vLLM's temp files (its vllm_dist_* rendezvous files) go to a dir this process owns,
        # so a sampler killed outright leaves nothing the next one does not remove.
        self._scratch = owned_dir(SCRATCH_PREFIX)
        with temp_dir_at(self._scratch):
            self._engine = VllmSampler(Path(model_dir), policy, sampler, seed=seed)

    def load(self, policy: Policy) -> None:
        """Serve ``policy``: its weights from the object store, updated in the running engine,
        or (weights None) the engine restarted on its model directory; nothing when it already
        serves that name."""
        if policy.name != self._serving:
            with temp_dir_at(self._scratch):
                if policy.weights is None:
                    self._engine.reload(Path(policy.name))
                else:
                    self._engine.update_weights(from_arrays(self._fetch(policy.weights)))
            self._serving = policy.name
        self._version = policy.version

    def sample(self, tasks: list[Task], k: int, temperature: float, prompt: PromptConfig,
               policy: Policy | None = None) -> SampleBatch:
        """``k`` programs per task (``temperature`` 0: one greedy program), with token counts.

        ``prompt`` comes with each call because the few-shot probe and the policy's own
        sampling use different prompts from the same engine; ``policy``, when given, is
        loaded first: a sampler Ray restarted after its process died comes back with the
        model it was built with, and must not sample from it.
        """
        start = time.perf_counter()
        if policy is not None:
            self.load(policy)
        prompts = [prompt_for(t.kind, t.text, self._seeds, prompt) for t in tasks]
        outs = self._engine.sample(prompts, n=k, temperature=temperature, top_p=self._cfg.top_p,
                                   top_k=self._cfg.top_k, max_tokens=self._cfg.max_tokens, seed=self._seed,
                                   stop=STOP)
        programs = [
            [Program(task_id=task.id, source=extract_program(c.text), completion=c.text,
                     policy_version=self._version, logprob=c.logprob)
             for c in completions]
            for task, completions in zip(tasks, outs)
        ]
        tokens = sum(c.num_tokens for completions in outs for c in completions)
        return SampleBatch(programs, tokens, time.perf_counter() - start)

    def close(self) -> None:
        """Shut the engine down (frees its KV cache and the process group vLLM created)."""
        self._engine.close()
        shutil.rmtree(self._scratch, ignore_errors=True)
