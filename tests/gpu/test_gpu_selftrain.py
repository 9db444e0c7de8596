"""Two iterations of the tiny profile with the sampler and the learner on the GPU, through the
public entry point (``rayapps.selftrain.main``, as the CPU end-to-end test runs it)."""

from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.gpu, pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def ray_on_this_machine():
    """The `ray` tier's local cluster when it is up, else one for this module (GPUs detected)."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False)
    yield ray.cluster_resources()
    if started:
        ray.shutdown()


def test_two_tiny_iterations_on_the_gpu(ray_on_this_machine, tmp_path: Path) -> None:
    import torch

    from rayapps.selftrain import main

    assert ray_on_this_machine.get("GPU", 0) >= 1, ray_on_this_machine
    share = 1 if torch.cuda.device_count() >= 2 else 0.5  # one GPU: sampler and learner share it
    run = tmp_path / "run"
    assert main(["--config", "tiny", f"run.dir={run}", f"run.mlflow_uri=sqlite:///{tmp_path}/mlflow.db",
                 "run.iterations=2", "policy.dtype=auto", "learner.dtype=auto",
                 f"resources.sampler_gpus={share}", f"resources.learner_gpus={share}"]) == 0
    for i in range(3):
        rows = pd.read_parquet(run / f"iter_{i:03d}" / "eval.parquet")
        assert len(rows) > 0, i  # held-out programs of iteration i's policy, scored
    assert (run / "iter_002" / "checkpoint" / "config.json").is_file()
