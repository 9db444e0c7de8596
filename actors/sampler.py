"""Sampler role: one vLLM engine writing K programs per task."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from visrep.config import PolicyConfig, PromptConfig, SamplerConfig
from visrep.policy.sampling import VllmSampler
from visrep.programs.records import Program, SampleBatch
from visrep.programs.text import STOP, extract_program
from visrep.scratch import owned_dir, temp_dir_at
from visrep.selftrain.examples import Seed, prompt_for
from visrep.world.records import Task

SCRATCH_PREFIX = "visrep-sampler-"


class SamplerActor:
    """Owns one engine; ``load`` swaps in a new checkpoint at the start of each grow phase."""

    def __init__(self, model_dir: str, version: int, policy: PolicyConfig,
                 sampler: SamplerConfig, seeds: list[Seed], seed: int) -> None:
        self._cfg = sampler
        self._seeds = seeds
        self._seed = seed
        self._version = version
        self._model_dir = Path(model_dir).resolve()
        # vLLM's temp files (its vllm_dist_* rendezvous files) go to a dir this process owns,
        # so a sampler killed outright leaves nothing the next one does not remove.
        self._scratch = owned_dir(SCRATCH_PREFIX)
        with temp_dir_at(self._scratch):
            self._engine = VllmSampler(Path(model_dir), policy, sampler, seed=seed)

    def load(self, model_dir: str, version: int) -> None:
        """Serve ``model_dir`` as policy ``version`` (reloads only when the weights differ)."""
        if Path(model_dir).resolve() != self._model_dir:
            with temp_dir_at(self._scratch):
                self._engine.reload(Path(model_dir))
            self._model_dir = Path(model_dir).resolve()
        self._version = version

    def sample(self, tasks: list[Task], k: int, temperature: float, prompt: PromptConfig,
               policy: tuple[str, int] | None = None) -> SampleBatch:
        """``k`` programs per task (``temperature`` 0: one greedy program), with token counts.

        ``prompt`` comes with each call because the few-shot probe and the policy's own
        sampling use different prompts from the same engine; ``policy`` (model dir,
        version), when given, is loaded first: a sampler Ray restarted after its process
        died comes back with the checkpoint it was built with, and must not sample from it.
        """
        start = time.perf_counter()
        if policy is not None:
            self.load(*policy)
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
