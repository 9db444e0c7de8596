"""A small world built once per session; tests that write copy it or build their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from visrep.world import build_world

SMALL = dict(seed=7, image_size=96, min_objects=2, max_objects=5, train_images=10,
             heldout_images=6, tasks_per_image=2, retrieval_candidates=4,
             kinds=("detect", "vqa", "retrieve"))


@pytest.fixture(scope="session")
def small() -> dict:
    """The small world's parameters (copy before changing)."""
    return dict(SMALL)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_world(tmp_path_factory.mktemp("w") / "world", **SMALL).dir
