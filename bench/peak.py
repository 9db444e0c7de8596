"""The measured matmul peak of a dtype on this process's device: what a bench's fraction of
peak (MFU, a sampler's bound) is taken against.

Why measured, not a spec sheet's: these machines differ (an AVX2 CPU multiplies bf16 at a
tenth of fp32, one with AVX512_BF16 at ~4x), and a fraction against the peak of the dtype
actually used, on the cores actually held, is the only one that says how much is left.

    python bench/peak.py                   # the dtype ``auto`` picks here
    python bench/peak.py --dtype float32
"""

from __future__ import annotations

import argparse
import sys
import time

import visrep  # noqa: F401  (torchvision fix) before torch
from visrep.hardware import default_device, resolve_dtype

SIZE = 2048  # square matmul side: large enough for the BLAS's peak kernels, small enough to be quick
SECONDS = 2.0  # timed per measurement, after a warm-up call


def matmul_peak(dtype: str, device: str | None = None, size: int = SIZE) -> float:
    """FLOP/s of repeated ``size``² matmuls in ``dtype`` (a torch dtype name) on ``device``
    (this process's default), with the threads this process has; the best of three timings."""
    import torch

    device = device or default_device()
    a = torch.randn(size, size, device=device).to(getattr(torch, dtype))
    b = torch.randn(size, size, device=device).to(getattr(torch, dtype))

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    a @ b
    sync()
    best = 0.0
    for _ in range(3):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < SECONDS / 3:
            a @ b
            calls += 1
        sync()
        best = max(best, 2 * size**3 * calls / (time.perf_counter() - start))
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="auto", help="auto (from the hardware), bfloat16, float32")
    args = ap.parse_args(argv)
    dtype, device = resolve_dtype(args.dtype), default_device()
    import torch

    print(f"{dtype} matmul peak on {device} ({torch.get_num_threads()} threads): "
          f"{matmul_peak(dtype) / 1e9:.1f} GFLOP/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
