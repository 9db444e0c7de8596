"""Learner role: one DeepSpeed rank fine-tuning the policy on filtered programs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from visrep.config import LearnerConfig
from visrep.policy.learner import DeepSpeedLearner


class LearnerActor:
    """Holds one rank of the DeepSpeed engine; ranks find each other through ``master_*``."""

    def __init__(self, model_dir: str, cfg: LearnerConfig, rank: int, world_size: int,
                 master_addr: str, master_port: int) -> None:
        self._learner = DeepSpeedLearner(Path(model_dir), cfg, rank=rank, world_size=world_size,
                                         master_addr=master_addr, master_port=master_port)

    def train(self, examples: list[tuple[str, str]], epochs: int, lr: float, seed: int) -> dict[str, Any]:
        """Fine-tune on (prompt, completion) pairs; every rank gets the full list and shards it
        with the shuffle ``seed`` they share."""
        return self._learner.train(examples, epochs=epochs, lr=lr, seed=seed)

    def save(self, out_dir: str) -> str:
        """Write an HF checkpoint (rank 0 writes; all ranks must call it for ZeRO-3 gathers)."""
        return str(self._learner.save_hf(Path(out_dir)))

    def close(self) -> None:
        self._learner.close()
