"""The `ray` tier: one session-scoped local cluster shared by the tests that need it."""

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()
