"""Fixtures: the oracle over the hand-built scene of ``visual_scene``, and its root patch."""

from __future__ import annotations

from pathlib import Path

import pytest
from visual_scene import SCENE

from visrep.visual.api import ImagePatch, api_namespace
from visrep.visual.backend import make_backend
from visrep.visual.oracle import OracleBackend


@pytest.fixture
def oracle() -> OracleBackend:
    backend = make_backend("oracle", {SCENE.image_id: SCENE}, Path("unused"))
    assert isinstance(backend, OracleBackend)
    return backend


@pytest.fixture
def image(oracle: OracleBackend) -> ImagePatch:
    """The root patch a program receives."""
    _, root = api_namespace(oracle, SCENE.image_id, (SCENE.width, SCENE.height))
    return root
