"""Self-attention of the attention token mixer: fused qkv, rotary positions.

Design choices:

- Attention is non-causal, with one fused qkv projection and no biases; rotary (rotate-half form)
  acts on q and k, whose slices of the qkv product are rotated in one call.
- ``rope`` and ``attention`` below are the plain definitions. ``@fast_path`` lets ``kernels.choose``
  run a fused kernel with the same result instead (a rotary without ``cat``, and a CPU training
  attention; ``kernels.py`` says which and why).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from trm.models.kernels import fast_path
from trm.models.layers import linear


@fast_path
def rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotary embedding ``x * cos + rotate_half(x) * sin`` of x [..., hd] (any strides); half-width
    tables cos, sin [..., hd/2] (one angle per pair) broadcast to x's halves."""
    cos, sin = torch.cat((cos, cos), dim=-1), torch.cat((sin, sin), dim=-1)  # [..., hd]
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


@fast_path
def attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Non-causal ``softmax(q k^T / sqrt(hd)) v`` of q, k, v [B, H, L, hd]."""
    return F.scaled_dot_product_attention(q, k, v)


class Rotary(nn.Module):
    """Rotary tables for ``seq_len`` positions of ``head_dim`` channels (half width: one angle per pair)."""

    def __init__(self, head_dim: int, seq_len: int, theta: float) -> None:
        super().__init__()
        inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # [hd/2]
        angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)  # [L, hd/2]
        # Derived from the config, so not saved in checkpoints.
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def tables(self, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """(cos, sin) [L, hd/2] in ``dtype``."""
        return self.cos.to(dtype), self.sin.to(dtype)

    def forward(self, x: Tensor) -> Tensor:  # [B, H, L, hd] -> same
        return rope(x, *self.tables(x.dtype))


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

    def forward(self, h: Tensor, residual: bool = False) -> Tensor:  # [B, L, D] -> [B, L, D]
        """Attention of h, or ``h + attention(h)`` with ``residual``."""
        b, length, d = h.shape
        qkv = self.qkv(h).view(b, length, 3, self.num_heads, self.head_dim)
        # q and k rotated in one call; tables [L, 1, 1, hd/2] broadcast over (q|k, heads)
        cos, sin = (t[:, None, None] for t in self.rotary.tables(qkv.dtype))
        q, k = rope(qkv[:, :, :2], cos, sin).permute(2, 0, 3, 1, 4).unbind(0)  # [B, H, L, hd] each
        v = qkv[:, :, 2].transpose(1, 2)
        attended = attention(q, k, v)  # [B, H, L, hd]
        out = self.out(attended.transpose(1, 2).reshape(b, length, d))
        return h + out if residual else out
