"""VllmSampler on CUDA: n completions per prompt, seeded sampling reproducible, bf16 where the GPU has it."""

import math

import pytest

from visrep.config import SamplerConfig
from visrep.hardware import resolve_dtype
from visrep.policy.sampling import VllmSampler

pytestmark = [pytest.mark.gpu, pytest.mark.engines]  # engines: vLLM in this process

PROMPTS = ["# Task: count the red circles\ndef execute_command(image):\n",
           "# Task: is there a blue star?\ndef execute_command(image):\n"]


def test_cuda_sampler_is_seeded_and_in_the_gpus_dtype(gpu_tiny_dir, gpu_policy):
    import torch

    sampler = VllmSampler(gpu_tiny_dir, gpu_policy, SamplerConfig(), seed=0)
    try:
        out = sampler.sample(PROMPTS, n=4, temperature=1.0, top_p=0.95, max_tokens=16, seed=7, stop=[])
        again = sampler.sample(PROMPTS, n=4, temperature=1.0, top_p=0.95, max_tokens=16, seed=7, stop=[])
        other = sampler.sample(PROMPTS, n=4, temperature=1.0, top_p=0.95, max_tokens=16, seed=8, stop=[])
        engine_dtype = sampler._llm.llm_engine.model_config.dtype
        on_gpu = torch.cuda.memory_allocated()  # the in-process engine's weights and KV cache
    finally:
        sampler.close()
    assert [len(row) for row in out] == [4, 4]
    assert all(1 <= c.num_tokens <= 16 and math.isfinite(c.logprob) for row in out for c in row)
    assert again == out and other != out  # the seed decides
    assert on_gpu > 0
    native = torch.cuda.is_bf16_supported(including_emulation=False)
    assert resolve_dtype("auto", "cuda") == ("bfloat16" if native else "float32")
    assert engine_dtype == getattr(torch, resolve_dtype("auto", "cuda"))
    print(f"\nvLLM on {torch.cuda.get_device_name()}: {engine_dtype}, {sampler.tokens_per_s:.0f} tok/s")
