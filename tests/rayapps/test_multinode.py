"""The cluster path without a shared filesystem, simulated here: a Ray cluster of four nodes on
this machine (``ray.cluster_utils.Cluster``), samplers, learner ranks and executors pinned to
three different worker nodes by custom resources (``resources.custom``), each node with its
own temp dir, and every worker node refused the head's disk (the run dir and the cache: an
audit hook, ``nodeaudit.py``).  The tiny profile runs 2 iterations with a re-distillation
stage: weights, the world the run built and the student must reach the other nodes through
Ray, and a read of a head path from another node fails the test."""

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import nodeaudit
import pytest

from rayapps.selftrain import main as selftrain_main
from visrep.cli import cache_dir
from visrep.storage import SCRATCH

pytestmark = [pytest.mark.ray, pytest.mark.slow]

# node name -> (logical CPUs, the custom resource that pins a role to it)
WORKERS = {"samplers": (1, "sampler_node"), "learners": (1, "learner_node"), "executors": (1, "executor_node")}


@pytest.fixture()
def cluster(tmp_path: Path, no_ray_cluster: None) -> Iterator[dict[str, Path]]:
    """The four nodes (head first), each node's TMPDIR by name; the driver connected."""
    import ray
    from ray.cluster_utils import Cluster

    private = os.pathsep.join(str(p.resolve()) for p in (tmp_path / "head", cache_dir()))
    tmp = {name: tmp_path / "nodes" / name for name in ("head", *WORKERS)}
    for path in tmp.values():
        path.mkdir(parents=True)
    sim = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False,
        "env_vars": {"TMPDIR": str(tmp["head"]), nodeaudit.NODE: "head"}})
    for name, (cpus, resource) in WORKERS.items():
        sim.add_node(num_cpus=cpus, resources={resource: 4},
                     env_vars={"TMPDIR": str(tmp[name]), nodeaudit.NODE: name, nodeaudit.PRIVATE: private})
    ray.cloudpickle.register_pickle_by_value(nodeaudit)  # the hook travels by value, not by import
    ray.init(address=sim.address, runtime_env={"worker_process_setup_hook": nodeaudit.install})
    try:
        yield tmp
    finally:
        ray.shutdown()
        sim.shutdown()


def test_tiny_run_on_four_nodes_reads_nothing_of_the_heads_disk(cluster: dict[str, Path], program_policy: Path,
                                                                 tmp_path: Path) -> None:
    run = tmp_path / "head" / "run"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = selftrain_main([
            "--config", "tiny", f"run.dir={run}", f"run.mlflow_uri=sqlite:///{tmp_path}/head/mlflow.db",
            f"policy.model={program_policy}",  # the base model: on every node (file_mounts on a cluster)
            "run.iterations=2", "redistill.every=1", "redistill.control=false", "redistill.steps=3",
            "redistill.batch_size=8",
            *(f"resources.custom.{role}={{{resource}: 1}}"
              for role, (_, resource) in zip(("sampler", "learner", "executor"), WORKERS.values(), strict=True))])
    assert rc == 0, out.getvalue()[-2000:]
    refused = {p.name: p.read_text() for path in cluster.values() for p in (path / nodeaudit.MARKERS).glob("refused-*")}
    assert not refused, refused  # also what a caller swallowed
    for name in WORKERS:  # the hook watched every worker node, and each ran workers
        assert list((cluster[name] / nodeaudit.MARKERS).glob("installed-*")), name
    unpacked = list((cluster["executors"] / SCRATCH).iterdir())
    assert len(unpacked) >= 2, unpacked  # the world the run built and the student, through the object store
    assert not (cluster["samplers"] / SCRATCH).exists()  # samplers get weights, not directories
    assert "held-out" in out.getvalue().lower()
