"""SFT throughput of ``DeepSpeedLearner`` (one rank): tokens/s and achieved FLOP/s, one run.

    python bench/learner_throughput.py --model tiny
    python bench/learner_throughput.py --model smollm2 --examples 64 --batch-size 8 --max-len 256

The learner trains where the loop's would: on CUDA with NCCL where the process sees a GPU,
else on the CPU with gloo.  One untimed warm-up epoch (kernels, allocator), then ``--epochs`` timed ones.
Examples are the warm start's own (the seed programs on the loop's prompt), cycled to
``--examples``.  Tokens count every non-padding position (prompt included: that is the
compute); achieved FLOP/s is 6·N·tokens/s, N the model's parameters; the model FLOP
utilisation (MFU) is printed against the matmul peak of the training dtype measured in the
same run (``bench/peak.py``), and against each ``--peak-tflops`` (a spec sheet's), twice:
on the real tokens, and on all positions the forward pass computes (padding included: the
hardware's utilisation, how issue 14 defines the SFT step's MFU):

    python bench/learner_throughput.py --model DIR --batch-size 32 --peak-tflops 989 --peak-tflops 790
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from peak import matmul_peak  # a sibling bench module; it imports visrep (its fixes) first

import visrep  # noqa: F401  (torchvision fix, offline hubs) before torch
from visrep.config import LearnerConfig, PolicyConfig, PromptConfig, WarmStartConfig
from visrep.distributed import free_port
from visrep.hardware import default_device, resolve_dtype
from visrep.policy.learner import DeepSpeedLearner
from visrep.policy.models import resolve_model
from visrep.selftrain.examples import config_seeds, program_examples


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny", help="tiny | smollm2 | HF model dir")
    ap.add_argument("--cache-dir", default=".cache/models")
    ap.add_argument("--examples", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--zero-stage", type=int, default=0)
    ap.add_argument("--dtype", default="auto", help="auto (from the hardware), bfloat16, float32")
    ap.add_argument("--peak-tflops", type=float, action="append", default=[],
                    help="a peak in TFLOP/s to print MFU against (repeatable)")
    args = ap.parse_args(argv)

    model_dir = resolve_model(PolicyConfig(model=args.model), Path(args.cache_dir))
    cfg = LearnerConfig(zero_stage=args.zero_stage, batch_size=args.batch_size, max_len=args.max_len,
                        dtype=args.dtype, lr=1e-5)
    seeds = config_seeds(WarmStartConfig().seeds_file)  # the default profile's seed programs
    pairs = program_examples(seeds, seeds, PromptConfig())
    examples = [pairs[i % len(pairs)] for i in range(args.examples)]
    peak = matmul_peak(resolve_dtype(args.dtype))  # the training dtype's, with this process's threads
    learner = DeepSpeedLearner(model_dir, cfg, master_port=free_port())
    try:
        params = sum(p.numel() for p in learner.engine.module.parameters())
        learner.train(examples, epochs=1, progress=False)  # warm-up
        stats = learner.train(examples, epochs=args.epochs, progress=False)
    finally:
        learner.close()
    flops = 6 * params * stats["tokens_per_s"]
    computed = flops * stats["padding"]  # every position the forward pass processed
    print(f"learner throughput ({args.model}, {params / 1e6:.1f} M params, {args.examples} examples x "
          f"{args.epochs} epochs, batch {args.batch_size}, ZeRO-{args.zero_stage}, "
          f"{resolve_dtype(args.dtype)} on {default_device()}):")
    print(f"  {stats['tokens_per_s']:10.1f} tokens/s ({stats['tokens']} tokens, {stats['steps']} steps, "
          f"{stats['seconds']:.2f} s, padding {stats['padding']:.2f}x)")
    print(f"  {flops / 1e9:10.2f} GFLOP/s achieved (6*N*tokens/s)")
    print(f"  {flops / peak:10.1%} MFU against the measured {resolve_dtype(args.dtype)} matmul peak, "
          f"{peak / 1e9:.1f} GFLOP/s ({computed / peak:.1%} on all positions computed)")
    for spec in args.peak_tflops:
        print(f"  {flops / (spec * 1e12):10.1%} MFU against {spec:g} TFLOP/s "
              f"({computed / (spec * 1e12):.1%} on all positions computed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
