"""Learner role: one DeepSpeed rank fine-tuning the policy on filtered programs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from visrep.config import LearnerConfig
from visrep.distributed import free_port
from visrep.policy.checkpoints import WeightArrays, from_arrays
from visrep.policy.learner import DeepSpeedLearner


class LearnerActor:
    """Holds one rank of the DeepSpeed engine.  Built in two steps, because the ranks meet at
    rank 0's address: every rank is created (cheap), rank 0 says where it listens
    (``rendezvous``, on its own node), then every rank ``start``s there."""

    def __init__(self, model_dir: str, cfg: LearnerConfig, rank: int, world_size: int) -> None:
        self._args = (Path(model_dir), cfg, rank, world_size)
        self._learner: DeepSpeedLearner | None = None

    def rendezvous(self, node_ip: Callable[[], str]) -> tuple[str, int]:
        """Where the ranks meet: this node's IP (``node_ip``: the Ray layer gives
        ``ray.util.get_node_ip_address``, actors stay plain classes) and a port free on it;
        loopback when there is one rank (a laptop needs no routable address)."""
        host = "127.0.0.1" if self._args[3] == 1 else node_ip()
        return host, free_port(host)

    def start(self, master_addr: str, master_port: int, weights: WeightArrays | None = None) -> None:
        """Join the group and build the engine on the model directory, with ``weights`` (passed
        as an object ref that Ray resolves) in place of its own."""
        model_dir, cfg, rank, world_size = self._args
        self._learner = DeepSpeedLearner(model_dir, cfg, rank=rank, world_size=world_size,
                                         master_addr=master_addr, master_port=master_port,
                                         weights=None if weights is None else from_arrays(weights))

    def _started(self) -> DeepSpeedLearner:
        if self._learner is None:
            raise RuntimeError("LearnerActor: start() first")
        return self._learner

    def train(self, examples: list[tuple[str, str]], epochs: int, lr: float, seed: int) -> dict[str, Any]:
        """Fine-tune on (prompt, completion) pairs; every rank gets the full list and shards it
        with the shuffle ``seed`` they share."""
        return self._started().train(examples, epochs=epochs, lr=lr, seed=seed)

    def weights(self) -> WeightArrays | None:
        """The trained weights (rank 0; None on the others; every rank must call it)."""
        return self._started().weights()

    def save(self, out_dir: str) -> str:
        """Write an HF checkpoint (rank 0 writes; all ranks must call it for ZeRO-3 gathers)."""
        return str(self._started().save_hf(Path(out_dir)))

    def close(self) -> None:
        if self._learner is not None:
            self._learner.close()
            self._learner = None
