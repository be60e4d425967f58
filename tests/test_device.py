"""Run-time device and dtype policy."""

from pathlib import Path

import torch

from trm.device import cpu_has_native_bf16, pick_dtype


def test_an_isa_cap_below_bf16_makes_the_cpu_dtype_float32(monkeypatch):
    cpu = torch.device("cpu")
    for cap in ("AVX2", "avx512_core"):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
        cpu_has_native_bf16.cache_clear()
        assert not cpu_has_native_bf16()
        assert pick_dtype(cpu) == torch.float32
        assert pick_dtype(cpu, "bfloat16") == torch.bfloat16  # an explicit request still wins
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    cpu_has_native_bf16.cache_clear()
    if Path("/proc/cpuinfo").is_file():  # Linux: the flags decide
        flags = Path("/proc/cpuinfo").read_text()
        assert cpu_has_native_bf16() == ("avx512_bf16" in flags or "amx_bf16" in flags)
    cpu_has_native_bf16.cache_clear()
