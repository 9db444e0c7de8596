"""The run's learner group: DeepSpeed ranks as Ray actors, built once and kept across iterations.

Ranks meet at rank 0's own address (its node's IP and a port free there), wherever Ray
places it, not at the driver's.  The group holds the policy it last trained (``version``),
so the next improve step starts from what it already has: nothing is loaded from disk and
no engine is rebuilt.  Weights leave it through the object store (``weights``), to the
samplers and to the controller, which writes the run's checkpoints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ray

from actors.learner import LearnerActor
from rayapps.cluster import role_options
from visrep.config import Config


class LearnerGroup:
    """``resources.learners`` ranks on ``model_dir``, holding policy ``version`` (None: the
    model directory's own weights; else the state dict ``weights`` refers to)."""

    def __init__(self, cfg: Config, model_dir: Path, version: int | None = None, weights: Any = None) -> None:
        res = cfg.resources
        actor = ray.remote(LearnerActor).options(**role_options(res, "learner"))
        self.ranks = [actor.remote(str(model_dir), cfg.learner, r, res.learners) for r in range(res.learners)]
        try:
            addr, port = ray.get(self.ranks[0].rendezvous.remote(ray.util.get_node_ip_address))
            ray.get([rank.start.remote(addr, port, weights) for rank in self.ranks])
        except BaseException:
            self.kill()
            raise
        self.version = version

    def train(self, examples: list[tuple[str, str]], epochs: int, lr: float, seed: int) -> dict[str, Any]:
        """One SFT step on every rank (each shards ``examples`` itself); rank 0's stats."""
        return ray.get([rank.train.remote(examples, epochs, lr, seed) for rank in self.ranks])[0]

    def weights(self) -> Any:
        """An object ref of the trained weights (rank 0's state dict), once every rank has
        taken part (a ZeRO-3 gather needs them all)."""
        refs = [rank.weights.remote() for rank in self.ranks]
        ray.get(refs[1:])
        ray.wait(refs[:1], fetch_local=False)
        return refs[0]

    def save(self, out_dir: Path) -> Path:
        """Write an HF checkpoint (rank 0 writes it on its own node: for tests and fixtures;
        the loop's checkpoints are written by the controller from ``weights``)."""
        ray.get([rank.save.remote(str(out_dir)) for rank in self.ranks])
        return Path(out_dir)

    def kill(self) -> None:
        """End every rank (their process group and engine go with their processes)."""
        for rank in self.ranks:
            ray.kill(rank)
        self.ranks = []
