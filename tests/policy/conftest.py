"""Policy fixtures: the tiny random Llama (SmolLM2 tokenizer from the offline GGUF)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from visrep.cli import cache_dir
from visrep.config import PolicyConfig
from visrep.policy.models import resolve_model

TINY = PolicyConfig(model="tiny", dtype="bfloat16", max_model_len=512, tiny_layers=2, tiny_hidden=64)


@pytest.fixture(scope="session")
def tiny_dir() -> Path:
    """The tiny model in the session's cache, where the loop's tests find it too (building
    it converts the GGUF tokenizer: ~15 s, once)."""
    return resolve_model(TINY, cache_dir())


@pytest.fixture(scope="session")
def tiny_policy() -> PolicyConfig:
    return TINY


@pytest.fixture
def port() -> int:
    """A free TCP port on loopback for a torch.distributed rendezvous."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
