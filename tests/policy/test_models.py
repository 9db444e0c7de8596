import json
import time

import pytest
import torch

from visrep.config import PolicyConfig
from visrep.policy.models import resolve_model


def test_tiny_round_trip_through_transformers(tiny_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = json.loads((tiny_dir / "config.json").read_text())
    assert config["hidden_size"] == 64 and config["num_hidden_layers"] == 2
    assert config["hidden_size"] // config["num_attention_heads"] == 32  # a vLLM CPU head size
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    assert tokenizer.chat_template  # carried over from the GGUF
    model = AutoModelForCausalLM.from_pretrained(tiny_dir).eval()
    ids = tokenizer("def f(x):\n    return x", return_tensors="pt")["input_ids"]  # (1, T)
    with torch.no_grad():
        logits = model(ids).logits  # (1, T, V)
    assert logits.shape == (1, ids.shape[1], len(tokenizer))
    # Same seed, same weights: rebuilding in another cache gives identical logits.
    again = AutoModelForCausalLM.from_pretrained(resolve_model(
        PolicyConfig(model="tiny", tiny_layers=2, tiny_hidden=64), tmp_path)).eval()
    with torch.no_grad():
        assert torch.equal(again(ids).logits, logits)


def test_resolve_reuses_cache_and_accepts_hf_dirs(tiny_dir):
    cfg = PolicyConfig(model="tiny", tiny_layers=2, tiny_hidden=64)
    stamp = (tiny_dir / "model.safetensors").stat().st_mtime_ns
    assert resolve_model(cfg, tiny_dir.parent) == tiny_dir
    assert (tiny_dir / "model.safetensors").stat().st_mtime_ns == stamp
    assert resolve_model(PolicyConfig(model=str(tiny_dir)), tiny_dir.parent) == tiny_dir


def test_resolve_rejects_non_model_paths(tmp_path):
    with pytest.raises(ValueError, match="config.json"):
        resolve_model(PolicyConfig(model=str(tmp_path)), tmp_path)


def test_tiny_rejects_head_dims_vllm_cpu_lacks(tmp_path):
    with pytest.raises(ValueError, match="head_dim"):
        resolve_model(PolicyConfig(model="tiny", tiny_hidden=48), tmp_path)


@pytest.mark.slow
def test_smollm2_export_loads_in_transformers(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    out = resolve_model(PolicyConfig(model="smollm2"), tmp_path)
    print(f"smollm2 export: {time.perf_counter() - start:.1f} s")
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    assert 130e6 < sum(p.numel() for p in model.parameters()) < 140e6
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What is 2+2?"}],
                                           tokenize=False, add_generation_prompt=True)
    ids = tokenizer(prompt, return_tensors="pt")["input_ids"]  # (1, T)
    with torch.no_grad():
        out_ids = model.generate(ids, max_new_tokens=12, do_sample=False)
    answer = tokenizer.decode(out_ids[0, ids.shape[1]:], skip_special_tokens=True)
    assert "4" in answer, answer  # the de-quantised weights are the real model
