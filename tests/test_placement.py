"""The run's actors against a cluster config: paper.yaml fits cluster.yaml, and a profile that
cannot be placed fails with one line naming what needs what (rayapps.placement)."""

import copy
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rayapps.cluster import peak_cpus
from rayapps.placement import GIB, Demand, Unplaceable, check, demands, place, policy_params, read_cluster
from visrep.cli import SetupError
from visrep.config import load_config

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_YAML = ROOT / "cluster.yaml"


def _raw() -> dict:
    return yaml.safe_load(CLUSTER_YAML.read_text())


def _single_node(cpus: float, gpus: int = 0) -> dict:
    return {"max_workers": 0, "head_node_type": "local",
            "available_node_types": {"local": {"resources": {"CPU": cpus, "GPU": gpus}, "node_config": {}}}}


def test_paper_fits_cluster_yaml_with_every_node_within_its_resources() -> None:
    cfg, cluster = load_config("paper"), read_cluster(CLUSTER_YAML)
    actors = demands(cfg)
    assert sum(a.cpus for a in actors) == peak_cpus(cfg.resources, cfg.resources.learners)
    nodes = place(actors, cluster)
    assert sorted(a.role for n in nodes for a in n.actors) == sorted(a.role for a in actors)
    for n in nodes:
        assert all(free >= -1e-9 for free in n.free()), n
    workers = [n.kind.name for n in nodes[1:]]
    assert len(workers) < cluster.max_workers  # headroom for Ray placing otherwise
    assert all(workers.count(k.name) <= k.max_workers for k in cluster.workers)
    lines = check(cfg, cluster)
    assert lines[-2].startswith("fits: 22 actors need 226 CPU, 12 GPU")
    assert "declare 32 GiB" in lines[-1]  # a GPU node's object store holds the 7B policy


def test_paper_with_redistillation_still_fits() -> None:
    cfg = load_config("paper", ["redistill.every=2"])
    assert len(demands(cfg)) == len(demands(load_config("paper"))) + 2
    check(cfg, read_cluster(CLUSTER_YAML))


def test_an_actor_larger_than_every_node_type_is_named() -> None:
    cfg = load_config("paper", ["resources.executor_cpus=80"])
    with pytest.raises(Unplaceable, match=r"^one executor needs 80 CPU, 0 GPU, 64 GiB memory, but no node type "
                                          r"has enough CPUs \(the largest, cpu_worker \(m6i.16xlarge\)"):
        check(cfg, read_cluster(CLUSTER_YAML))


def test_more_gpus_than_max_workers_allow_is_named() -> None:
    cfg = load_config("paper", ["resources.learners=16"])
    with pytest.raises(Unplaceable, match=r"max_workers=8 workers offer: 20 GPU > 16 GPU"):
        check(cfg, read_cluster(CLUSTER_YAML))


def test_enough_in_total_but_not_in_pieces_is_named() -> None:
    raw = _single_node(0)
    raw["max_workers"] = 2
    raw["available_node_types"]["w"] = {"resources": {"CPU": 10, "GPU": 0}, "node_config": {}, "max_workers": 2}
    with pytest.raises(Unplaceable, match=r"needs 18 CPU.*1 actors are left over \(first: one x needing 6 CPU"):
        place([Demand("x", 6, 0)] * 3, read_cluster(raw))
    place([Demand("x", 5, 0)] * 4, read_cluster(raw))


def test_custom_resources_pin_a_role_to_the_node_types_that_declare_them() -> None:
    raw = _single_node(8)
    raw["max_workers"] = 2
    raw["available_node_types"]["gpu"] = {"resources": {"CPU": 8, "GPU": 0, "gpu_worker": 2}, "node_config": {},
                                          "max_workers": 2}
    cluster = read_cluster(raw)
    pinned = Demand("sampler", 1, 0, custom=(("gpu_worker", 1.0),))
    nodes = place([pinned] * 3 + [Demand("scorer", 1, 0)], cluster)  # the head has room, but no gpu_worker
    assert [(n.kind.name, sorted(a.role for a in n.actors)) for n in nodes] == [
        ("local", ["scorer"]), ("gpu", ["sampler", "sampler"]), ("gpu", ["sampler"])]
    with pytest.raises(Unplaceable, match=r"^one sampler asks for custom resources \{'tpu': 1.0\} "
                                          r"\(resources.custom\), which no node type declares"):
        place([Demand("sampler", 1, 0, custom=(("tpu", 1.0),))], cluster)
    cfg = load_config("tiny", ["resources.custom.sampler={gpu_worker: 1}"])
    assert [d.custom for d in demands(cfg) if d.role == "sampler"] == [(("gpu_worker", 1.0),)]


def test_the_redistillation_task_goes_on_the_head() -> None:
    raw = _single_node(2)
    raw["max_workers"] = 1
    raw["available_node_types"]["w"] = {"resources": {"CPU": 64, "GPU": 0}, "node_config": {}, "max_workers": 1}
    task = Demand("re-distillation task", 4, 0, head=True)
    with pytest.raises(Unplaceable, match=r"^one re-distillation task needs 4 CPU, 0 GPU, but no node type has "
                                          r"enough CPUs \(the largest, local"):
        place([task], read_cluster(raw))
    raw["available_node_types"]["local"]["resources"]["CPU"] = 4
    assert [n.kind.name for n in place([task, Demand("x", 1, 0)], read_cluster(raw))] == ["local", "w"]


def test_memory_counts_where_a_node_type_declares_it() -> None:
    raw = _raw()
    raw["available_node_types"]["cpu_worker"]["resources"]["memory"] = 32 * GIB
    with pytest.raises(Unplaceable,
                       match=r"2 actors are left over \(first: one executor needing 16 CPU, 0 GPU, 64 GiB"):
        check(load_config("paper"), read_cluster(raw))
    for spec in raw["available_node_types"].values():
        spec["resources"]["memory"] = 32 * GIB
    with pytest.raises(Unplaceable,
                       match="one executor needs 16 CPU, 0 GPU, 64 GiB memory, but no node type has enough memory"):
        check(load_config("paper"), read_cluster(raw))
    for spec in raw["available_node_types"].values():
        del spec["resources"]["memory"]  # undeclared: not counted
    assert "on the head and 4 of max_workers" in check(load_config("paper"), read_cluster(raw))[-2]  # 5 with it


@pytest.mark.parametrize(("overrides", "gib"), [
    ((), 7e9 * 2 / 8 / GIB),  # paper: ZeRO-3 over 8 ranks, bf16 (auto on GPUs): a shard each, read in bf16
    (("learner.zero_stage=2",), 7e9 * 2 / GIB),  # ZeRO-1/2: the whole model on every rank
    (("learner.zero_stage=2", "learner.dtype=float32"), 7e9 * 4 / GIB),
    (("resources.learner_gpus=0",), 7e9 * 4 / 8 / GIB),  # auto on a CPU: fp32 assumed (bf16 only where native)
])
def test_a_learner_rank_holds_what_it_reads_at_load(overrides: tuple[str, ...], gib: float) -> None:
    [rank, *_] = [d for d in demands(load_config("paper", list(overrides))) if d.role == "learner"]
    assert rank.memory / GIB == pytest.approx(gib)


def test_an_object_store_too_small_for_the_policy_is_named() -> None:
    raw = _raw()
    raw["available_node_types"]["gpu_worker"]["resources"]["object_store_memory"] = 8 * GIB
    with pytest.raises(Unplaceable, match=r"gpu_worker can host policy actors.*\(8 GiB\).*\(13.0 GiB for 7B"):
        check(load_config("paper"), read_cluster(raw))


def test_node_resources_must_be_explicit() -> None:
    raw = copy.deepcopy(_raw())
    raw["available_node_types"]["gpu_worker"]["resources"] = {}
    with pytest.raises(SetupError, match="gpu_worker: resources must declare CPU and GPU"):
        read_cluster(raw)


@pytest.mark.parametrize(("model", "params"), [
    ("/mnt/shared/models/CodeLlama-7b-Python-hf", 7e9), ("SmolLM2-135M-Instruct", 1.35e8),
    ("Qwen2.5-Coder-1.5B", 1.5e9), ("smollm2", None), ("tiny", None), ("gpt-4o", None),
])
def test_policy_params_from_the_name(model: str, params: float | None) -> None:
    assert policy_params(model) == params


def test_tiny_fits_the_two_cpu_test_cluster_and_default_the_local_one_connect_starts() -> None:
    check(load_config("tiny"), read_cluster(_single_node(2)))
    default = load_config("default")
    check(default, read_cluster(_single_node(math.ceil(peak_cpus(default.resources, default.resources.learners)))))
    with pytest.raises(Unplaceable):
        check(load_config("paper"), read_cluster(_single_node(256)))  # no GPUs


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rayapps.selftrain", "--config", "paper",
                           "--check-cluster", str(CLUSTER_YAML), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_cli_prints_the_placement_and_exits_0() -> None:
    proc = _cli()
    assert proc.returncode == 0, proc.stderr
    assert "fits: 22 actors" in proc.stdout and "gpu_worker (g5.12xlarge): 4 learners" in proc.stdout


def test_the_cli_exits_2_with_one_line_when_it_cannot_be_placed() -> None:
    proc = _cli("resources.sampler_gpus=8")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("selftrain: error: one sampler needs 8 CPU, 8 GPU, but no node type has enough GPUs")
