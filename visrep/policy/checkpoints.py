"""A policy's weights as a state dict, and as the HF checkpoint directory that holds them.

Weights travel between the learner and the samplers in memory (a state dict in Ray's object
store); a checkpoint directory is what the controller keeps in its run directory (to resume,
to evaluate, to hand a user the policy).  It is the base model's directory with other
weights: its config and tokenizer files, and the state dict as safetensors shards
(``huggingface_hub.save_torch_state_dict``: sharded for a 7B model, one file for a small one),
which vLLM and transformers both load.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from visrep.policy.models import replace_dir

if TYPE_CHECKING:
    import torch

Weights = Mapping[str, "torch.Tensor"]  # HF parameter names -> tensors on the CPU
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
WEIGHT_INDEX = "model.safetensors.index.json"


@dataclass(frozen=True)
class WeightArrays:
    """Weights as numpy arrays (bf16 as its 16 bits), the form in which they cross Ray's object
    store: numpy arrays are stored and read back without a copy (pickle 5 buffers), where torch
    tensors are pickled whole; measured on SmolLM2-135M: 3.9 s to put and 8 s to get as tensors.
    A tied weight is one array under both names."""

    arrays: dict[str, np.ndarray]
    dtypes: dict[str, str]  # name -> the torch dtype's name ("float32", "bfloat16")


def to_arrays(weights: Weights) -> WeightArrays:
    """Copies of ``weights`` as ``WeightArrays`` (one per tensor: a tied pair stays one)."""
    import torch

    copies: dict[int, np.ndarray] = {}
    for tensor in weights.values():
        if tensor.data_ptr() not in copies:
            bits = tensor.detach().cpu()
            bits = bits.view(torch.int16) if bits.dtype == torch.bfloat16 else bits
            copies[tensor.data_ptr()] = bits.numpy().copy()
    return WeightArrays({name: copies[t.data_ptr()] for name, t in weights.items()},
                        {name: str(t.dtype).removeprefix("torch.") for name, t in weights.items()})


def from_arrays(weights: WeightArrays) -> dict[str, torch.Tensor]:
    """``weights`` as tensors over the same memory (read-only when it is the object store's:
    loaders copy from them, nothing writes into them)."""
    import torch

    with warnings.catch_warnings():  # torch warns of the object store's read-only buffers
        warnings.simplefilter("ignore", UserWarning)
        tensors = {id(a): torch.from_numpy(a) for a in weights.arrays.values()}
    return {name: tensors[id(a)].view(torch.bfloat16) if weights.dtypes[name] == "bfloat16" else tensors[id(a)]
            for name, a in weights.arrays.items()}


def _is_weights(path: Path) -> bool:
    return path.suffix in WEIGHT_SUFFIXES or path.name.endswith(".index.json")


def write_checkpoint(weights: Weights, template: Path, out: Path) -> Path:
    """Write ``weights`` as an HF checkpoint at ``out``, with every other file (config,
    tokenizer, chat template) copied from ``template``, the model directory the weights were
    trained from, and the tensor names ``template`` has: of a tied pair (``lm_head.weight``
    sharing the embedding) the one the template leaves out is dropped, since vLLM, loading a
    tied model, skips ``lm_head`` and would find no embedding if the other were kept.  Built in
    a sibling temp directory and renamed into place, so a crash leaves no half checkpoint and
    an existing one is replaced whole."""
    from huggingface_hub import save_torch_state_dict

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for path in Path(template).iterdir():
            if path.is_file() and not _is_weights(path):
                shutil.copy2(path, tmp / path.name)
        names = _tensor_names(Path(template))
        save_torch_state_dict(dict(weights), tmp, shared_tensors_to_discard=[k for k in weights if k not in names])
        replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _safetensors_files(checkpoint: Path) -> list[Path]:
    """The safetensors files of an HF checkpoint directory (one, or the shards its index names)."""
    index = checkpoint / WEIGHT_INDEX
    names = (sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.is_file()
             else sorted(p.name for p in checkpoint.glob("*.safetensors")))
    if not names:
        raise ValueError(f"{checkpoint}: no safetensors weights (an HF model directory was expected)")
    return [checkpoint / name for name in names]


def _tensor_names(checkpoint: Path) -> set[str]:
    """The tensor names a checkpoint's files hold (read from their headers, not their data)."""
    from safetensors import safe_open

    names: set[str] = set()
    for path in _safetensors_files(checkpoint):
        with safe_open(path, framework="pt") as f:
            names |= set(f.keys())
    return names


def read_weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    """The state dict of an HF checkpoint directory (its safetensors files, one or sharded),
    as the learner has it: a tied weight under every name it has in the model, though the
    files hold it once (the names come from the model built on the meta device, which costs
    no memory)."""
    from safetensors.torch import load_file

    weights: dict[str, torch.Tensor] = {}
    for path in _safetensors_files(Path(checkpoint)):
        weights.update(load_file(path))
    for names in _tied_names(Path(checkpoint)):
        held = [name for name in names if name in weights]
        for name in names:
            if held and name not in weights:
                weights[name] = weights[held[0]]
    return weights


def _tied_names(model_dir: Path) -> list[list[str]]:
    """The groups of parameter names that are one tensor in the model of ``model_dir``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_dir))
    groups: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(param), []).append(name)
    return [names for names in groups.values() if len(names) > 1]
