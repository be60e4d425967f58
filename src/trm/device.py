"""Device and dtype policy, chosen at run time and passed explicitly (no module-global state)."""

from __future__ import annotations

import os
import platform
from functools import lru_cache

import torch


def pick_device(requested: str = "auto") -> torch.device:
    """``auto`` prefers cuda, then mps, then cpu. An unavailable explicit choice is an error."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device=cuda was requested but torch.cuda.is_available() is False")
    if requested == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise RuntimeError("device=mps was requested but MPS is not available")
    return torch.device(requested)


# oneDNN instruction-set caps (ONEDNN_MAX_CPU_ISA) below AVX512_CORE_BF16: bf16 matmuls are then emulated
# even on a CPU that has the instructions (a way to measure a CPU without bf16 on one that has it).
_ISA_CAPS_WITHOUT_BF16 = {
    "SSE41",
    "AVX",
    "AVX2",
    "AVX2_VNNI",
    "AVX2_VNNI_2",
    "AVX512_CORE",
    "AVX512_CORE_VNNI",
}


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 matrix instructions (AVX512_BF16 or AMX) and ``ONEDNN_MAX_CPU_ISA`` does not
    cap them away; else bf16 is emulated and slow."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in _ISA_CAPS_WITHOUT_BF16:
        return False
    if platform.system() == "Linux":
        try:
            with open("/proc/cpuinfo") as f:
                flags = f.read()
        except OSError:
            return False
        return "avx512_bf16" in flags or "amx_bf16" in flags
    return platform.machine() in ("arm64", "aarch64") and platform.system() == "Darwin"


def pick_dtype(device: torch.device, requested: str = "auto") -> torch.dtype:
    """Forward (autocast) dtype: bf16 where the hardware does it natively, else fp32. Weights stay fp32."""
    if requested == "float32":
        return torch.float32
    if requested == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    if device.type == "cpu":
        return torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    return torch.float32


def autocast(device: torch.device, dtype: torch.dtype):
    """Autocast context for the forward pass; a no-op for fp32."""
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype != torch.float32)
