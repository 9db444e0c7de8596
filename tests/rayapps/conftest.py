"""The `ray` tier: one local cluster shared by the tests that need it.

It starts on first use and stays up for the session, except around the `ray start --head`
test (test_job_submit.py), which must stop it first: two clusters on one machine fight
over the dashboard agent's port, and that test's `ray stop --force` kills every Ray
process on the machine.  The next test that asks for the cluster starts it again.
"""

import contextlib
import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from tiny_run import TinyRun, fine_tuned


def _local_cluster() -> None:
    """This process's local cluster (2 CPUs), started unless it is up."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False)


@pytest.fixture()
def ray_cluster() -> Iterator[None]:
    _local_cluster()
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


EPOCHS = 16
PROGRAMS = {"detect": 'return image.find("object")', "vqa": 'return str(image.count("object"))',
            "retrieve": 'return float(image.exists("object"))'}  # one tool call, the answer's type


@pytest.fixture(scope="session")
def program_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny policy that writes a valid program (``PROGRAMS``, one per kind) for every task of
    the tiny world.  The random tiny policy writes nothing the validator accepts, so without it the
    loop's grow would never run a sampled program through the sandbox and the tools.  Made the
    loop's way: a learner actor fine-tunes the tiny model on the loop's prompts."""
    from visrep.config import load_config
    from visrep.selftrain.examples import config_seeds, training_pair
    from visrep.world import build_world_from, load_tasks

    cfg = load_config("tiny")
    root = tmp_path_factory.mktemp("program_policy")
    tasks = load_tasks(build_world_from(root / "world", cfg.world).dir)
    seeds = config_seeds(cfg.warm_start.seeds_file)
    pairs = [training_pair(t.kind, t.text, PROGRAMS[t.kind], seeds, cfg.prompt) for t in tasks]
    _local_cluster()
    return fine_tuned(pairs, EPOCHS, root / "policy")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, program_policy: Path) -> TinyRun:
    """``python -m rayapps.selftrain --config tiny`` from the program-writing policy, run once
    for the session (the end-to-end, failures, re-distillation, report and MLflow UI tests read
    the same run, or go on with a copy of it)."""
    from rayapps.selftrain import main

    root = tmp_path_factory.mktemp("tiny")
    run = TinyRun(root / "run", f"sqlite:///{root}/mlflow.db", "", (f"policy.model={program_policy}",))
    _local_cluster()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(run.args()) == 0
    return dataclasses.replace(run, out=out.getvalue())
