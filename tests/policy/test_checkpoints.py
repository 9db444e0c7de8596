"""Checkpoint directories from in-memory weights and back (no engines: safetensors and HF only)."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import safe_open

from visrep.policy.checkpoints import read_weights, write_checkpoint


def _names(model_dir: Path) -> set[str]:
    names: set[str] = set()
    for path in model_dir.glob("*.safetensors"):
        with safe_open(path, framework="pt") as f:
            names |= set(f.keys())
    return names


def test_a_written_checkpoint_is_the_template_with_other_weights(tiny_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32)
    assert model.config.tie_word_embeddings  # the case that needs care: lm_head is the embedding
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.01)
    state = model.state_dict()
    out = write_checkpoint(state, tiny_dir, tmp_path / "ckpt")
    # every other file of the template; the tensor names the template has (the tied head once)
    assert {p.name for p in tiny_dir.iterdir() if p.suffix != ".safetensors"} <= {p.name for p in out.iterdir()}
    assert _names(out) == _names(tiny_dir) and "lm_head.weight" not in _names(out)
    back = read_weights(out)  # the learner's names again, the tied one included
    assert back.keys() == state.keys()
    assert all(torch.equal(back[k], v) for k, v in state.items())
    reloaded = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    assert all(torch.equal(reloaded.state_dict()[k], v) for k, v in state.items())


def test_reading_the_base_model_gives_the_full_state_dict(tiny_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    state = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32).state_dict()
    weights = read_weights(tiny_dir)
    assert weights.keys() == state.keys()
    assert torch.equal(weights["lm_head.weight"], weights["model.embed_tokens.weight"])


def test_a_directory_without_weights_is_refused_in_one_line(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(ValueError, match="no safetensors weights"):
        read_weights(tmp_path)


def test_weights_cross_as_arrays_and_come_back_as_the_same_tensors() -> None:
    import pickle

    from visrep.policy.checkpoints import from_arrays, to_arrays

    embed = torch.randn(8, 4, dtype=torch.bfloat16)
    flat = torch.arange(12, dtype=torch.float32)  # a view into a flat buffer, as ZeRO's parameters are
    weights = {"embed": embed, "head": embed, "w": flat[2:8].view(2, 3)}
    packed = pickle.loads(pickle.dumps(to_arrays(weights), protocol=5))
    back = from_arrays(packed)
    assert back.keys() == weights.keys() and all(back[k].dtype == weights[k].dtype for k in weights)
    assert all(torch.equal(back[k], weights[k]) for k in weights)
    assert back["embed"].data_ptr() == back["head"].data_ptr()  # a tied pair stays one tensor
    flat.zero_()
    assert torch.equal(back["w"], torch.arange(2, 8, dtype=torch.float32).view(2, 3))  # copies
