"""Whether a run's actors can be placed on a cluster launcher config, checked before launch.

``python -m rayapps.selftrain --config X --check-cluster cluster.yaml`` reads the node types
of a Ray cluster config (``available_node_types``: each one's explicit ``resources``,
``min_workers``/``max_workers``; the head; the cluster's ``max_workers``) and the actors the
profile spawns, then answers before any node is paid for: does every actor fit some node
type, and do all of them fit at once on the head plus at most ``max_workers`` workers?

What it models:
- one demand per actor: samplers, executors, scorers and learner ranks, all alive at once
  (the learner group lives for the whole run); when re-distillation can run, one more
  executor on top, and on the head a task with a learner rank's CPUs (the stage runs
  there, beside the teacher; counting both with the learners errs on the safe side);
- CPU and GPU exactly as the actors request them from Ray, and the custom resources
  ``resources.custom`` gives a role: only node types that declare them host it;
- host memory as an estimate, checked only where a node type declares ``memory``: an
  executor's sandbox workers may each grow by ``executor.memory_mb`` (``RLIMIT_AS``; the
  executor's own process and its student are not counted), and a learner rank reads the
  policy in the dtype it trains in (fp32: 4 bytes a parameter; bf16, what ``auto`` gives
  on GPUs: 2), its 1/ranks shard at ZeRO-3 (built inside ``deepspeed.zero.Init``), all of
  it otherwise (DeepSpeed's ZeRO-1/2 keep the whole model on every rank); samplers and
  scorers count none.  Ray itself does not reserve memory for these actors (they request none), so
  this dimension says that a placement within the nodes' RAM exists, not that Ray picks it;
- the object store: every node type that can host a sampler or a learner rank must hold one
  bf16 copy of the policy (2 bytes a parameter), checked where the node type declares
  ``object_store_memory``.  The parameter count comes from the model's name (``...-7b-...``,
  ``...-135M-...``); a name without one skips the memory and object-store estimates.

What it does not model: the order in which Ray places actors (it may put a CPU-only actor
on a GPU node's spare CPUs, which is why a cluster should keep spare ``max_workers`` beyond
the packing printed), GPU memory, network locality of the learner ranks, the driver (it
runs on the head outside Ray's resources: the head's ``CPU`` should leave it a few cores),
and a student distilled in the driver when ``visual.student_dir`` is empty.

The packing is first-fit decreasing over the open nodes (the head and the ``min_workers``
first), opening the tightest-fitting worker type when none has room.  A fit is real (the
printed packing is one); a heuristic packing can in rare cases miss a fit that exists.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from rayapps.redistill import due
from visrep.cli import SetupError
from visrep.config import Config, Role

GIB = 1 << 30
FP32_BYTES, BF16_BYTES = 4, 2
POLICY_ROLES = ("sampler", "learner")  # roles that hold a copy of the policy weights
BUILTIN = ("CPU", "GPU", "memory", "object_store_memory")  # Ray's own resources; the rest are custom


class Unplaceable(SetupError):
    """The run's actors cannot all be placed on the cluster (one line: what needs what)."""


@dataclass(frozen=True)
class Demand:
    """What one actor asks for; ``memory`` is an estimate in bytes (0: not estimated)."""

    role: str
    cpus: float
    gpus: float
    memory: float = 0.0
    custom: tuple[tuple[str, float], ...] = ()  # Ray custom resources, (name, amount)
    head: bool = False  # runs on the head only


@dataclass(frozen=True)
class NodeType:
    """One node type's capacity as the cluster config declares it; ``memory`` and
    ``object_store`` in bytes, ``math.inf`` when the config leaves them to Ray."""

    name: str
    instance: str
    cpus: float
    gpus: float
    memory: float
    object_store: float
    min_workers: int
    max_workers: int
    custom: tuple[tuple[str, float], ...] = ()  # the custom resources it declares


@dataclass(frozen=True)
class Cluster:
    """The head and the worker types; at most ``max_workers`` workers in all."""

    head: NodeType
    workers: tuple[NodeType, ...]
    max_workers: int


@dataclass
class Node:
    """A node of the packing and the actors put on it."""

    kind: NodeType
    head: bool = False
    actors: list[Demand] = field(default_factory=list)

    def free(self) -> tuple[float, float, float]:
        """CPUs, GPUs and memory not yet taken on this node."""
        return (self.kind.cpus - sum(a.cpus for a in self.actors),
                self.kind.gpus - sum(a.gpus for a in self.actors),
                self.kind.memory - sum(a.memory for a in self.actors))

    def holds(self, d: Demand) -> bool:
        return (self.head or not d.head) and fits(d, self.free()) and admits(self.kind, d, self.actors)


def admits(kind: NodeType, d: Demand, placed: Sequence[Demand] = ()) -> bool:
    """Whether ``kind`` has the custom resources ``d`` asks for, beside those ``placed`` took."""
    have = dict(kind.custom)
    return all(have.get(name, 0.0) - sum(dict(a.custom).get(name, 0.0) for a in placed) >= amount - 1e-9
               for name, amount in d.custom)


def fits(d: Demand, room: tuple[float, float, float]) -> bool:
    """Whether ``d`` fits in ``room`` (CPUs, GPUs, memory) in every dimension at once."""
    cpus, gpus, memory = room
    eps = 1e-9  # fractional CPUs (0.1 a scorer) add up with rounding error
    return d.cpus <= cpus + eps and d.gpus <= gpus + eps and d.memory <= memory + eps


def _node_type(name: str, spec: dict[str, Any], max_workers: int) -> NodeType:
    res = spec.get("resources") or {}
    missing = [k for k in ("CPU", "GPU") if k not in res]
    if missing:
        raise SetupError(f"node type {name}: resources must declare {' and '.join(missing)} explicitly "
                         "(Ray would fill them from the instance type, which this check cannot read)")
    custom = tuple(sorted((k, float(v)) for k, v in res.items() if k not in BUILTIN))
    return NodeType(name, str(spec.get("node_config", {}).get("InstanceType", "?")), float(res["CPU"]),
                    float(res["GPU"]), float(res.get("memory", math.inf)),
                    float(res.get("object_store_memory", math.inf)),
                    int(spec.get("min_workers", 0)), int(spec.get("max_workers", max_workers)), custom)


def read_cluster(config: Path | dict[str, Any]) -> Cluster:
    """The node types of a Ray cluster launcher config (a path or its parsed dict)."""
    raw = yaml.safe_load(config.read_text()) if isinstance(config, Path) else config
    total = int(raw.get("max_workers", 2))  # Ray's default on AWS
    types = {name: _node_type(name, spec, total) for name, spec in raw["available_node_types"].items()}
    head = types.pop(raw["head_node_type"])
    return Cluster(head, tuple(types.values()), total)


def policy_params(model: str) -> float | None:
    """Parameters of the policy as its name states them (``CodeLlama-7b-Python-hf``: 7e9,
    ``SmolLM2-135M-Instruct``: 1.35e8); None when the name does not say."""
    found = re.findall(r"(?<![\w.])(\d+(?:\.\d+)?)([bBmM])(?![a-zA-Z])", Path(model).name.replace("_", "-"))
    if not found:
        return None
    number, unit = found[-1]
    return float(number) * (1e9 if unit in "bB" else 1e6)


def learner_bytes(cfg: Config, params: float | None) -> float:
    """Host memory one learner rank holds of the policy at load (0: not estimated)."""
    if not params:
        return 0.0
    gpu_bf16 = cfg.learner.dtype == "bfloat16" or (cfg.learner.dtype == "auto" and cfg.resources.learner_gpus > 0)
    shards = cfg.resources.learners if cfg.learner.zero_stage == 3 else 1
    return (BF16_BYTES if gpu_bf16 else FP32_BYTES) * params / shards


def demands(cfg: Config) -> list[Demand]:
    """One demand per actor alive at the run's peak (see the module docstring)."""
    res, params = cfg.resources, policy_params(cfg.policy.model)

    def custom(role: Role) -> tuple[tuple[str, float], ...]:
        return tuple(sorted(res.custom.get(role, {}).items()))

    executor = Demand("executor", res.executor_cpus, 0.0,
                      float(cfg.executor.workers * cfg.executor.memory_mb * (1 << 20)), custom("executor"))
    learner = Demand("learner", res.learner_cpus, res.learner_gpus, learner_bytes(cfg, params), custom("learner"))
    sampler = Demand("sampler", res.sampler_cpus, res.sampler_gpus, custom=custom("sampler"))
    scorer = Demand("scorer", res.scorer_cpus, 0.0, custom=custom("scorer"))
    out = [sampler] * res.samplers + [executor] * res.executors + [scorer] * res.scorers + [learner] * res.learners
    if due(cfg, cfg.redistill.every):
        out += [replace(executor, role="re-distillation executor"),
                Demand("re-distillation task", res.learner_cpus, 0.0, head=True)]
    return out


def _dims(x: Demand | NodeType) -> tuple[float, float, float]:
    return x.cpus, x.gpus, x.memory


def _amount(value: float, i: int) -> str:
    """Dimension ``i`` of ``_dims`` as a user reads it."""
    return f"{value / GIB:.0f} GiB memory" if i == 2 else f"{value:g} {('CPU', 'GPU')[i]}"


def _fmt(dims: tuple[float, float, float]) -> str:
    """CPUs and GPUs, and memory when it is estimated (non-zero) and declared (finite)."""
    return ", ".join(_amount(v, i) for i, v in enumerate(dims) if i < 2 or (v and math.isfinite(v)))


def _kinds(cluster: Cluster) -> list[NodeType]:
    """The head and every worker type the cluster can start at least one of."""
    return [cluster.head, *(k for k in cluster.workers if k.max_workers > 0 and cluster.max_workers > 0)]


def _too_big(d: Demand, cluster: Cluster) -> str | None:
    """Why no node type can hold ``d`` alone (None when one can)."""
    kinds = [cluster.head] if d.head else _kinds(cluster)
    if any(fits(d, _dims(k)) and admits(k, d) for k in kinds):
        return None
    if not any(admits(k, d) for k in kinds):
        return (f"one {d.role} asks for custom resources {dict(d.custom)} (resources.custom), which "
                f"no node type declares ({', '.join(k.name for k in kinds)})")
    short = [i for i in range(3) if _dims(d)[i] > max(_dims(k)[i] for k in kinds)]
    what = " or ".join(("CPUs", "GPUs", "memory")[i] for i in short) or "of them together"
    most = max(kinds, key=lambda k: tuple(_dims(k)[i] for i in (*short, 1, 0, 2)))
    return (f"one {d.role} needs {_fmt(_dims(d))}, but no node type has enough {what} "
            f"(the largest, {most.name} ({most.instance}), has {_fmt(_dims(most))})")


def capacity(cluster: Cluster) -> tuple[float, float, float]:
    """The most CPUs, GPUs and memory (each on its own) the head and ``max_workers`` workers
    can offer, within each worker type's ``max_workers``."""
    out = []
    for i in range(3):
        left, total = cluster.max_workers, _dims(cluster.head)[i]
        for k in sorted(cluster.workers, key=lambda k: _dims(k)[i], reverse=True):
            n = max(0, min(left, k.max_workers))
            total, left = total + n * _dims(k)[i], left - n
        out.append(total)
    return out[0], out[1], out[2]


def total(actors: list[Demand]) -> tuple[float, float, float]:
    return sum(a.cpus for a in actors), sum(a.gpus for a in actors), sum(a.memory for a in actors)


def _open(d: Demand, nodes: list[Node], cluster: Cluster) -> Node | None:
    """A new worker for ``d``: of the types it fits with a node left, the tightest fit (a
    CPU-only actor opens a node without GPUs when there is one); None when none is left."""
    if len(nodes) - 1 >= cluster.max_workers:
        return None
    started = [n.kind.name for n in nodes[1:]]
    options = [k for k in cluster.workers
               if not d.head and started.count(k.name) < k.max_workers and fits(d, _dims(k)) and admits(k, d)]
    if not options:
        return None
    node = Node(min(options, key=lambda k: (k.gpus - d.gpus, k.cpus - d.cpus, k.memory - d.memory)))
    nodes.append(node)
    return node


def place(actors: list[Demand], cluster: Cluster) -> list[Node]:
    """The head first, then the workers the packing starts, each with its actors; raises
    ``Unplaceable`` naming the actor no node type holds, or the total demand against what
    ``max_workers`` allows."""
    for d in actors:
        if (why := _too_big(d, cluster)) is not None:
            raise Unplaceable(why)
    nodes = [Node(cluster.head, head=True), *(Node(k) for k in cluster.workers for _ in range(k.min_workers))]
    left: list[Demand] = []
    for d in sorted(actors, key=lambda d: (d.gpus, d.cpus, d.memory), reverse=True):  # GPU actors first
        node = next((n for n in nodes if n.holds(d)), None) or _open(d, nodes, cluster)
        if node is None:
            left.append(d)
        else:
            node.actors.append(d)
    if left:
        need, most = total(actors), capacity(cluster)
        where = f"the head and at most max_workers={cluster.max_workers} workers"
        over = [f"{_amount(n, i)} > {_amount(m, i)}" for i, (n, m) in enumerate(zip(need, most, strict=True))
                if n > m + 1e-9]
        if over:
            raise Unplaceable(f"the run needs more at once than {where} offer: {', '.join(over)} "
                              f"(all it needs: {_fmt(need)})")
        raise Unplaceable(f"the run needs {_fmt(need)} at once; packed onto {where}, {len(left)} actors "
                          f"are left over (first: one {left[0].role} needing {_fmt(_dims(left[0]))})")
    return nodes


def _check_object_store(cfg: Config, cluster: Cluster) -> str:
    """A line on the object store; raises ``Unplaceable`` when a node type that can host a
    sampler or learner rank cannot hold one copy of the policy weights."""
    params = policy_params(cfg.policy.model)
    if params is None:
        return f"object store: not checked ({cfg.policy.model!r} does not state its size)"
    need = (FP32_BYTES if cfg.policy.dtype == "float32" else BF16_BYTES) * params
    hosts = {k.name: k for d in demands(cfg) if d.role in POLICY_ROLES for k in _kinds(cluster) if fits(d, _dims(k))}
    for k in hosts.values():
        if k.object_store < need:
            raise Unplaceable(f"node type {k.name} can host policy actors, but its object store "
                              f"({k.object_store / GIB:.0f} GiB) cannot hold one copy of the policy "
                              f"({need / GIB:.1f} GiB for {params / 1e9:g}B parameters)")
    return (f"object store: one copy of the policy is {need / GIB:.1f} GiB; node types hosting samplers "
            f"or learners ({', '.join(hosts)}) declare "
            + ", ".join("Ray's default" if math.isinf(k.object_store) else f"{k.object_store / GIB:.0f} GiB"
                        for k in hosts.values()))


def check(cfg: Config, cluster: Cluster) -> list[str]:
    """Lines describing how the run's actors are placed (one per node, then the totals and
    the object store); raises ``Unplaceable`` (one line) when they cannot be."""
    actors = demands(cfg)
    nodes = place(actors, cluster)
    lines = []
    for n in nodes:
        roles = {r: sum(a.role == r for a in n.actors) for r in dict.fromkeys(a.role for a in n.actors)}
        used = total(n.actors)
        lines.append(f"{n.kind.name} ({n.kind.instance}): "
                     + (", ".join(f"{c} {r}{'s' if c > 1 else ''}" for r, c in roles.items()) or "nothing")
                     + f"; uses {_fmt(used)} of {_fmt(_dims(n.kind))}")
    workers = len(nodes) - 1
    lines.append(f"fits: {len(actors)} actors need {_fmt(total(actors))} at once; on the head and {workers} "
                 f"of max_workers={cluster.max_workers} workers")
    lines.append(_check_object_store(cfg, cluster))
    return lines


def check_cluster(cfg: Config, path: Path) -> int:
    """``--check-cluster``: print the placement and return 0, or raise ``Unplaceable``."""
    for line in check(cfg, read_cluster(path)):
        print(line)
    return 0
