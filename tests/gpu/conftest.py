"""The `gpu` tier: the tiny policy on CUDA (skipped where there is none: tests/conftest.py).

``scripts/gpu_tests.sh`` runs this folder and the GPU benches on a machine with a GPU."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def gpu_policy():
    """The tiny random Llama, dtype from the GPU (bf16 where it has it natively)."""
    from visrep.config import PolicyConfig

    return PolicyConfig(model="tiny", dtype="auto", max_model_len=512)


@pytest.fixture(scope="session")
def gpu_tiny_dir(gpu_policy) -> Path:
    """Its HF dir, in the session's cache (shared with the CPU tiers: same layers and width)."""
    from visrep.cli import cache_dir
    from visrep.policy.models import resolve_model

    return resolve_model(gpu_policy, cache_dir())
