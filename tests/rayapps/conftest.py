"""The `ray` tier: one local cluster shared by the tests that need it.

It starts on first use and stays up for the session, except around the `ray start --head`
test (test_job_submit.py), which must stop it first: two clusters on one machine fight
over the dashboard agent's port, and that test's `ray stop --force` kills every Ray
process on the machine.  The next test that asks for the cluster starts it again.
"""

from collections.abc import Iterator

import pytest


@pytest.fixture()
def ray_cluster() -> Iterator[None]:
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False)
    yield


@pytest.fixture(scope="session", autouse=True)
def _ray_stops_at_the_end() -> Iterator[None]:
    yield
    import ray

    ray.shutdown()


@pytest.fixture()
def no_ray_cluster() -> None:
    """Stop this process's local cluster (if any) before a test starts its own."""
    import ray

    ray.shutdown()
