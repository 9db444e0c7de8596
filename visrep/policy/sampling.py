"""Sampling programs from the policy with vLLM (CPU build here, CUDA build on a cluster).

``VllmSampler`` owns one in-process ``vllm.LLM`` engine (``visrep`` sets
``VLLM_ENABLE_V1_MULTIPROCESSING=0``, so no EngineCore process is spawned: this works in a
Ray actor and needs no ``if __name__ == "__main__"`` guard).  Between self-training
iterations ``update_weights`` swaps the learner's newest weights into the running engine
(``reload(new_dir)`` restarts it on a model directory instead).

Caveats of the in-process CPU engine (vLLM 0.32): its worker replaces
``torch.set_num_threads`` by a no-op for the rest of the process and binds OpenMP threads,
and its shutdown destroys the default ``torch.distributed`` process group.  Keep a sampler
and a ``DeepSpeedLearner`` in different processes (actors); in one process (tests), close
one before starting the other.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from visrep.config import PolicyConfig, SamplerConfig
from visrep.hardware import resolve_dtype
from visrep.programs.text import STOP

if TYPE_CHECKING:
    import torch

GIB = 1 << 30


@dataclass(frozen=True)
class Completion:
    """One sampled continuation of a prompt (stop string excluded)."""

    text: str
    logprob: float  # cumulative log-probability of the sampled tokens under the raw model
    num_tokens: int
    finish_reason: str = ""  # "stop" (stop string / EOS) or "length" (hit max_tokens)


class VllmSampler:
    """One vLLM engine on an HF model dir; ``sample`` many prompts × n completions."""

    def __init__(self, model_dir: Path, policy: PolicyConfig, cfg: SamplerConfig,
                 seed: int = 0) -> None:
        self.policy = policy
        self.cfg = cfg
        self.seed = seed
        self.model_dir: Path | None = None
        self.tokens_per_s = 0.0  # generated tokens per second of the last ``sample`` call
        self._llm = None
        self._start(Path(model_dir))

    def _start(self, model_dir: Path) -> None:
        import torch
        from vllm import LLM

        kwargs = {}
        if not torch.cuda.is_available():
            # CPU: the KV cache is host memory of a fixed size (VLLM_CPU_KVCACHE_SPACE's
            # successor; the env var, when set, still wins).  On GPU vLLM sizes it itself.
            kwargs["kv_cache_memory_bytes"] = int(self.cfg.kv_cache_gib * GIB)
            # vLLM-cpu 0.32 crashes ("CPU Generator does not use offset") when a request
            # with its own seed is prefilled in chunks; whole-prompt prefill avoids it.
            kwargs["enable_chunked_prefill"] = False
            kwargs["max_num_batched_tokens"] = max(self.policy.max_model_len, 4096)
            # Prefix caching shares whole KV blocks only: with the CPU default of 128 tokens
            # the few-shot prompts (probe, few-shot baseline) recomputed up to 127 tokens of
            # their shared prefix each; 32 measured 71.5 vs 34.6 tok/s on them (grow's short
            # prompts: about the same either way).
            kwargs["block_size"] = 32
        with _inspect_models_in_process(on_cpu=not torch.cuda.is_available()):
            self._llm = LLM(
                model=str(model_dir),
                dtype=resolve_dtype(self.policy.dtype),
                max_model_len=self.policy.max_model_len,
                enforce_eager=True,
                seed=self.seed,
                enable_prefix_caching=True,
                **kwargs,
            )
        self.model_dir = model_dir

    def sample(self, prompts: list[str], n: int, temperature: float, top_p: float,
               max_tokens: int, seed: int | None = None,
               stop: list[str] | tuple[str, ...] = STOP, top_k: int = 0) -> list[list[Completion]]:
        """``n`` completions per prompt (1 when ``temperature == 0``: greedy).

        ``stop`` defaults to the end of a program in the prompt format
        (``visrep.programs.text.STOP``); callers whose format differs pass their own.

        With ``seed`` set, prompt ``i`` samples with seed ``seed + i * n`` (vLLM gives its
        ``n`` children ``+0 … +n-1``), so a call is reproducible and prompts don't share noise.
        """
        if self._llm is None:
            raise RuntimeError("VllmSampler is closed")
        params = sampling_params(len(prompts), n, temperature, top_p, max_tokens, seed, stop, top_k)
        start = time.perf_counter()
        outputs = self._llm.generate(list(prompts), params, use_tqdm=False)
        seconds = time.perf_counter() - start
        result = [[_completion(c) for c in out.outputs] for out in outputs]
        generated = sum(c.num_tokens for row in result for c in row)
        self.tokens_per_s = generated / seconds if seconds > 0 else 0.0
        return result

    def update_weights(self, weights: Mapping[str, torch.Tensor]) -> None:
        """Serve ``weights`` (HF parameter names, as ``DeepSpeedLearner.weights`` gives them)
        in the running engine: vLLM's in-place reload (its RL weight-update path: the
        checkpoint-format tensors go through the model's own ``load_weights``, then its
        post-load processing), and the prefix cache dropped, since its blocks hold keys and
        values of the old weights.  Measured on the tiny policy: 0.05 s against 5.4 s for
        ``reload``, with the same greedy outputs as an engine restarted on those weights."""
        if self._llm is None:
            raise RuntimeError("VllmSampler is closed")
        self._llm.collective_rpc("reload_weights", kwargs={"weights_iterator": iter(weights.items()),
                                                           "is_checkpoint_format": True})
        self._llm.reset_prefix_cache()

    def reload(self, model_dir: Path) -> None:
        """Replace the engine by one on ``model_dir`` (a new checkpoint)."""
        self.close()
        self._start(Path(model_dir))

    def close(self) -> None:
        """Shut the engine down and free its weights and KV cache."""
        if self._llm is None:
            return
        llm, self._llm = self._llm, None
        try:
            llm.llm_engine.engine_core.shutdown()
        finally:
            del llm
            gc.collect()
            _release_cuda_cache()


def _release_cuda_cache() -> None:
    """Hand a closed engine's GPU memory back to the device.  On CUDA, vLLM refuses to start
    unless ``gpu_memory_utilization`` (0.9) of the device is free, and torch's caching
    allocator keeps the freed KV cache counted as used: without this, a ``reload`` in the same
    process would be refused (read from vLLM's worker; not yet run on a GPU here)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@contextlib.contextmanager
def _inspect_models_in_process(on_cpu: bool):
    """Let vLLM inspect model classes in this process instead of a fresh interpreter.

    vLLM's model registry imports the model class in ``python -m
    vllm.model_executor.models.registry`` (to keep CUDA uninitialised in the parent) the
    first time it meets an architecture.  That child does not run ``visrep``'s torchvision
    fix and dies with "operator torchvision::nms does not exist".  On CPU there is no CUDA
    to protect, so the inspection runs here instead; on GPU nothing changes.
    """
    if not on_cpu:
        yield
        return
    from vllm.model_executor.models import registry

    original = getattr(registry, "_run_in_subprocess", None)
    if original is None:  # a vLLM without this hook: nothing to do
        yield
        return
    registry._run_in_subprocess = lambda fn: fn()
    try:
        yield
    finally:
        registry._run_in_subprocess = original


def sampling_params(count: int, n: int, temperature: float, top_p: float, max_tokens: int,
                    seed: int | None, stop: list[str] | tuple[str, ...], top_k: int) -> list:
    """vLLM's ``SamplingParams`` for the ``count`` prompts of one ``VllmSampler.sample`` call
    (the seeds it documents), for whoever feeds the engine those requests another way."""
    from vllm import SamplingParams

    greedy = temperature == 0
    n = 1 if greedy else n
    return [SamplingParams(n=n, temperature=temperature, top_p=1.0 if greedy else top_p,
                           top_k=0 if greedy else top_k, max_tokens=max_tokens,
                           seed=None if seed is None else seed + i * n, stop=list(stop),
                           logprobs=0)  # the sampled token's logprob only; summed when not cumulated
            for i in range(count)]


def _completion(out) -> Completion:
    logprob = out.cumulative_logprob
    if logprob is None:
        logprob = sum(step[tok].logprob for tok, step in zip(out.token_ids, out.logprobs or []))
    return Completion(text=out.text, logprob=float(logprob), num_tokens=len(out.token_ids),
                      finish_reason=out.finish_reason or "")
