"""One place that opens and closes torch.distributed process groups for DeepSpeed engines.

Several engines can live in one process over its lifetime (tests; a learner re-created
per iteration; the distillation rows), and vLLM's in-process engine creates and destroys
the default group too.  DeepSpeed memoises its world/data-parallel groups in module
globals, so a group destroyed by anyone leaves dead handles behind and the next engine
fails with "Group ... is not registered".  Whoever creates a new group here therefore
first drops DeepSpeed's memo; whoever created a group destroys it.
"""

from __future__ import annotations

import os
import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` (loopback: a one-process rendezvous; a node's IP: the
    address rank 0 of a multi-node group listens on)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def forget_deepspeed_groups() -> None:
    """Drop DeepSpeed's memoised sub-groups (dead once their process group is destroyed)."""
    from deepspeed.utils import groups

    for name in ("_WORLD_GROUP", "_DATA_PARALLEL_GROUP", "_MODEL_PARALLEL_GROUP",
                 "_TENSOR_MODEL_PARALLEL_GROUP", "_ZERO_PARAM_INTRA_PARALLEL_GROUP"):
        if hasattr(groups, name):
            setattr(groups, name, None)
    for name in ("_EXPERT_PARALLEL_GROUP", "_EXPERT_PARALLEL_GROUP_RANKS",
                 "_EXPERT_DATA_PARALLEL_GROUP", "_EXPERT_DATA_PARALLEL_GROUP_RANKS",
                 "_ALL_TO_ALL_GROUP"):
        if isinstance(getattr(groups, name, None), dict):
            getattr(groups, name).clear()


def open_group(rank: int = 0, world_size: int = 1, master_addr: str = "127.0.0.1",
               master_port: int | None = None) -> bool:
    """Join (or create) the default process group; True when this call created it.

    gloo on CPU, NCCL with CUDA.  The env vars are those DeepSpeed's launcher would set.
    """
    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        return False
    port = master_port or free_port()
    for key, value in (("RANK", rank), ("WORLD_SIZE", world_size), ("LOCAL_RANK", rank),
                       ("MASTER_ADDR", master_addr), ("MASTER_PORT", port)):
        os.environ[key] = str(value)
    forget_deepspeed_groups()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, init_method=f"tcp://{master_addr}:{port}",
                            rank=rank, world_size=world_size)
    return True


def close_group(owned: bool) -> None:
    """Destroy the default group if ``owned`` (this side created it) and it is still alive."""
    import torch.distributed as dist

    if owned and dist.is_initialized():
        dist.destroy_process_group()
        forget_deepspeed_groups()
