"""The `ray` tier: one local cluster shared by the tests that need it.

It starts on first use and stays up for the session, except around the `ray start --head`
test (test_job_submit.py), which must stop it first: two clusters on one machine fight
over the dashboard agent's port, and that test's `ray stop --force` kills every Ray
process on the machine.  The next test that asks for the cluster starts it again.
"""

import contextlib
import io
from collections.abc import Iterator

import pytest
from tiny_run import TinyRun


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


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> TinyRun:
    """``python -m rayapps.selftrain --config tiny`` run once for the session (the end-to-end
    and the MLflow UI tests read the same run: a run costs about a minute)."""
    import ray

    from rayapps.selftrain import main

    root = tmp_path_factory.mktemp("tiny")
    run = TinyRun(root / "run", f"sqlite:///{root}/mlflow.db", "")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(run.args()) == 0
    return TinyRun(run.dir, run.mlflow_uri, out.getvalue())
