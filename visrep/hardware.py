"""The floating-point dtype a process computes in: native bf16 where the hardware has it.

Why: bf16 is fast only where the hardware multiplies bf16 natively.  On an AVX2-only CPU
torch emulates it (2048² matmul, 2 threads: 0.3–19 GFLOP/s in bf16 against ~178 in fp32),
so a bf16 default made one SFT step take 134 s and vLLM sample 17 tok/s there; on a CPU
with AVX512_BF16 it ran at ~730 against ~170 GFLOP/s.  Plain AVX-512 emulates bf16 too
(~120 GFLOP/s, below fp32's ~168, measured by capping oneDNN's ISA on that CPU).

Config values are ``auto | bfloat16 | float32``; ``auto`` is resolved here, where the
value is used (the sampler's vLLM engine, the learner's DeepSpeed config, the
distillation's autocast), and never written back into the frozen config.  Each choice is
printed once per process, with its reason.
"""

from __future__ import annotations

import functools
import sys
import typing
from collections.abc import Iterable
from pathlib import Path

DtypeSetting = typing.Literal["auto", "bfloat16", "float32"]
DTYPE_SETTINGS: tuple[str, ...] = typing.get_args(DtypeSetting)
# /proc/cpuinfo flags of the x86 instructions that multiply bf16 natively (AMX first).
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")

_said: set[str] = set()  # lines already printed by this process


def cpu_native_bf16(capability: str, flags: Iterable[str]) -> tuple[bool, str]:
    """(native?, why) from the cpuinfo ``flags``; torch's ``capability`` ("AVX2", …) only names why not.

    A pure function of its inputs, so the AVX2 and AVX512_BF16 cases are testable anywhere.
    The flags alone decide: matmuls go through oneDNN, which picks its kernels from the CPU
    itself (with ``ATEN_CPU_CAPABILITY=avx2`` on an AVX512_BF16 CPU bf16 stayed ~4× fp32).
    """
    present = set(flags)
    have = [f for f in NATIVE_BF16_FLAGS if f in present]
    if not have:
        return False, f"CPU capability {capability}: no native bf16"
    return True, f"CPU has {have[0].upper()}"


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The first ``flags`` line of ``cpuinfo`` (empty where there is none, e.g. not Linux x86)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def default_device() -> str:
    """``cuda`` when this process can see a GPU (where sampler and learner then run), else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@functools.cache
def native_bf16(device: str) -> tuple[bool, str]:
    """(native?, why) for ``device`` (``cpu`` or ``cuda``) of this machine; detected once."""
    import torch

    if device == "cuda":
        name = torch.cuda.get_device_name()
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return True, f"CUDA device {name} supports bf16"
        return False, f"CUDA device {name}: no native bf16"
    if device != "cpu":
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    return cpu_native_bf16(torch.backends.cpu.get_cpu_capability(), cpu_flags())


def resolve_dtype(setting: str, device: str | None = None) -> str:
    """``bfloat16`` or ``float32`` for a config value; ``auto`` asks the hardware.

    ``device`` defaults to :func:`default_device`; a caller that computes on the CPU even
    beside a GPU (the distillation's CPU autocast) passes ``"cpu"``.  An explicit value is
    returned as given, with a one-line note when ``bfloat16`` will be emulated.
    """
    if setting not in DTYPE_SETTINGS:
        raise ValueError(f"dtype must be one of {', '.join(DTYPE_SETTINGS)}, got {setting!r}")
    if setting == "float32":
        return setting
    native, why = native_bf16(device or default_device())
    if setting == "auto":
        choice = "bfloat16" if native else "float32"
        _say_once(f"visrep: dtype auto -> {choice} ({why})")
        return choice
    if not native:
        _say_once(f"visrep: dtype bfloat16 as configured, though {why} (expect it slow; auto picks float32)")
    return setting


def resolve_bf16(setting: str, device: str | None = None) -> bool:
    """Whether ``setting`` computes in bf16 here (DeepSpeed's ``bf16.enabled``, autocast)."""
    return resolve_dtype(setting, device) == "bfloat16"


def training_attention(dtype: str, device: str | None = None) -> str:
    """The HF ``attn_implementation`` a model trains with: ``eager`` for bf16 on the CPU, else ``sdpa``.

    Why: torch's CPU flash-attention backward is slow in bf16 (SmolLM2-135M, micro batch of
    8 x 36 tokens on an AVX512_BF16 EPYC: 5.5 ms a layer against 0.9 ms in fp32, a fifth of
    the whole backward pass); eager attention's matmuls go through oneDNN like the rest of
    the model (backward 0.65 s against 0.87 s a step).  In fp32 the two measured the same."""
    if dtype == "bfloat16" and (device or default_device()) == "cpu":
        return "eager"
    return "sdpa"


def _say_once(line: str) -> None:
    if line not in _said:
        _said.add(line)
        print(line, file=sys.stderr, flush=True)
