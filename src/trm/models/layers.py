"""Building blocks shared by TRM and HRM: normalisation, initialisation, rotary, SwiGLU, attention.

Design choices:

- ``rms_norm`` has no learnable scale (the papers' post-norm blocks have none); it is computed in
  float32 and cast back to the input dtype, so a bf16 residual stream is normalised accurately.
- Linear layers have no biases and are initialised with a truncated LeCun normal: samples of a
  standard normal cut at +-2, rescaled so that the *resulting* standard deviation is exactly
  ``1/sqrt(fan_in)`` (as JAX/Flax's ``lecun_normal`` does; ``nn.init.trunc_normal_`` alone would give
  a std about 12% smaller).
- SwiGLU keeps gate and up projections fused in one ``[in -> 2*inter]`` matrix (one large matmul);
  ``inter = round_up(round(expansion * in * 2/3), width_multiple)``.
- Attention is non-causal, with a fused qkv projection, rotary embedding (rotate-half) on q and k,
  and ``F.scaled_dot_product_attention`` (fused kernels on GPU, a good CPU path too).
- Weights stay fp32; the caller's autocast decides the matmul dtype.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Standard deviation of a standard normal truncated to [-2, 2].
_TRUNC2_STD = 0.8796256610342398


def trunc_normal_(tensor: Tensor, std: float) -> Tensor:
    """Fill ``tensor`` with a normal cut at 2 standard deviations whose final std is ``std``."""
    with torch.no_grad():
        nn.init.trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0)
        return tensor.mul_(std / _TRUNC2_STD)


def init_linear(layer: nn.Linear) -> nn.Linear:
    """Truncated LeCun normal: std = 1/sqrt(fan_in)."""
    trunc_normal_(layer.weight, std=1.0 / math.sqrt(layer.in_features))
    return layer


def linear(in_features: int, out_features: int) -> nn.Linear:
    """A bias-free linear layer with the papers' initialisation."""
    return init_linear(nn.Linear(in_features, out_features, bias=False))


def rms_norm(x: Tensor, eps: float, dim: int = -1) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over ``dim``, computed in float32, returned in x's dtype."""
    x32 = x.float()
    return (x32 * torch.rsqrt(x32.square().mean(dim, keepdim=True) + eps)).to(x.dtype)


def swiglu_width(in_features: int, expansion: float, multiple: int) -> int:
    """Hidden width of a SwiGLU: round(expansion * in * 2/3) rounded up to a multiple of ``multiple``."""
    width = round(expansion * in_features * 2 / 3)
    return -(-width // multiple) * multiple


class SwiGLU(nn.Module):
    """down(silu(gate(x)) * up(x)) over the last axis, gate and up fused."""

    def __init__(self, in_features: int, expansion: float, width_multiple: int) -> None:
        super().__init__()
        self.inter = swiglu_width(in_features, expansion, width_multiple)
        self.gate_up = linear(in_features, 2 * self.inter)
        self.down = linear(self.inter, in_features)

    def forward(self, x: Tensor) -> Tensor:  # [..., in] -> [..., in]
        gate, up = self.gate_up(x).chunk(2, dim=-1)  # [..., inter] each
        return self.down(F.silu(gate) * up)


class Rotary(nn.Module):
    """Rotary position embedding (rotate-half form) for ``seq_len`` positions of ``head_dim`` channels."""

    def __init__(self, head_dim: int, seq_len: int, theta: float) -> None:
        super().__init__()
        inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # [hd/2]
        angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)  # [L, hd/2]
        angles = torch.cat((angles, angles), dim=-1)  # [L, hd]
        # Derived from the config, so not saved in checkpoints.
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:  # [B, H, L, hd] -> same
        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        cos, sin = self.cos.to(x.dtype), self.sin.to(x.dtype)
        return x * cos + rotated * sin


class Attention(nn.Module):
    """Non-causal multi-head self-attention with fused qkv, no biases, rotary on q and k."""

    def __init__(self, hidden_size: int, num_heads: int, seq_len: int, rope_theta: float) -> None:
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size={hidden_size} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.qkv = linear(hidden_size, 3 * hidden_size)
        self.out = linear(hidden_size, hidden_size)
        self.rotary = Rotary(self.head_dim, seq_len, rope_theta)

    def forward(self, h: Tensor) -> Tensor:  # [B, L, D] -> [B, L, D]
        b, length, d = h.shape
        qkv = self.qkv(h).view(b, length, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # [B, H, L, hd] each
        q, k = self.rotary(q), self.rotary(k)
        attended = F.scaled_dot_product_attention(q, k, v)  # [B, H, L, hd]
        return self.out(attended.transpose(1, 2).reshape(b, length, d))
