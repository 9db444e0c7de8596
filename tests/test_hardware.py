"""The dtype chosen from the hardware: the pure decision, explicit values, and ``auto`` here."""

from pathlib import Path

import pytest
import torch

from visrep import hardware
from visrep.hardware import cpu_flags, cpu_native_bf16, native_bf16, resolve_bf16, resolve_dtype, training_attention


@pytest.mark.parametrize("capability, flags, native, why", [
    ("AVX2", {"avx2", "fma"}, False, "CPU capability AVX2: no native bf16"),
    ("AVX512", {"avx2", "avx512f", "avx512_bf16"}, True, "CPU has AVX512_BF16"),
    ("AVX512", {"avx512f", "avx512_bf16", "amx_bf16"}, True, "CPU has AMX_BF16"),
    ("AVX512", {"avx2", "avx512f"}, False, "CPU capability AVX512: no native bf16"),  # emulated
    ("AVX2", {"avx2", "avx512_bf16"}, True, "CPU has AVX512_BF16"),  # ATEN_CPU_CAPABILITY=avx2: oneDNN still has it
    ("DEFAULT", set(), False, "CPU capability DEFAULT: no native bf16"),
])
def test_cpu_decision_from_capability_and_flags(capability: str, flags: set[str], native: bool, why: str) -> None:
    assert cpu_native_bf16(capability, flags) == (native, why)


def test_cpu_flags_reads_the_flags_line(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx2 avx512_bf16\n\nflags\t: other\n")
    assert cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize("setting", ["float32", "bfloat16"])
def test_explicit_values_are_kept(setting: str) -> None:
    assert resolve_dtype(setting, "cpu") == setting
    assert resolve_bf16(setting, "cpu") is (setting == "bfloat16")


def test_auto_here_follows_the_detector(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(hardware, "_said", set())
    native, why = native_bf16("cpu")
    assert native == cpu_native_bf16(torch.backends.cpu.get_cpu_capability(), cpu_flags())[0]
    expected = "bfloat16" if native else "float32"
    assert resolve_dtype("auto", "cpu") == expected
    assert resolve_bf16("auto", "cpu") is native
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"visrep: dtype auto -> {expected} ({why})"]  # once per process, with the reason


def test_unknown_values_are_refused() -> None:
    with pytest.raises(ValueError, match="auto, bfloat16, float32"):
        resolve_dtype("float16", "cpu")
    with pytest.raises(ValueError, match="device"):
        native_bf16("tpu")


@pytest.mark.gpu  # skipped without CUDA (tests/conftest.py)
def test_auto_on_cuda_is_bf16_where_the_gpu_has_it() -> None:
    expected = "bfloat16" if torch.cuda.is_bf16_supported(including_emulation=False) else "float32"
    assert resolve_dtype("auto", "cuda") == expected == resolve_dtype("auto")


@pytest.mark.parametrize("dtype, device, attention", [
    ("bfloat16", "cpu", "eager"),  # torch's CPU flash-attention backward is slow in bf16
    ("float32", "cpu", "sdpa"),
    ("bfloat16", "cuda", "sdpa"),
    ("float32", "cuda", "sdpa"),
])
def test_training_attention_from_dtype_and_device(dtype: str, device: str, attention: str) -> None:
    assert training_attention(dtype, device) == attention
