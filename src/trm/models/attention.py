"""Self-attention of the attention token mixer: fused qkv, rotary positions, a CPU training kernel.

Design choices:

- Attention is non-causal, with one fused qkv projection and no biases; rotary (rotate-half form)
  acts on q and k.
- ``rope`` rotates the q and k slices of the qkv product in one call, half by half:
  ``out_1 = x_1 cos - x_2 sin``, ``out_2 = x_2 cos + x_1 sin`` (no negated copy, no ``cat``); on
  CPU 1.4x (bf16) to 1.6x (fp32) faster than ``x * cos + rotate_half(x) * sin`` on q and k
  (``rope_reference``; ``benchmarks/cpu_kernels.py``). With gradient it is an
  autograd function whose backward is the inverse rotation (the same function with ``-sin``).
  While traced, compiled or exported the reference formula runs (plain ops for ONNX and inductor).
- ``F.scaled_dot_product_attention`` (SDPA) everywhere except CPU training. PyTorch's CPU backward
  of SDPA measured ~3.8x slower than our kernel in bf16 at the paper's shape (q, k, v
  [64, 8, 97, 64], 2 threads: 213 ms forward + backward against 57 ms), so with gradient on CPU
  ``_Attention`` runs instead: scores from q and k upcast to float32 (logits are not rounded to
  bf16, as in flash kernels), a float32 softmax, P rounded to the compute dtype for ``P @ V``; the
  backward uses the flash identity ``dS = P * (dP - rowsum(dO * O))``. Without gradient SDPA's CPU
  forward is the fastest and is kept. ``_Attention`` also runs under ``torch.compile`` (compiled,
  SDPA's CPU backward is the same slow kernel: the compiled bf16 step went 10.2 -> 7.8 s), never
  while traced or exported. ``attention_reference`` is the plain composite; tests compare.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from trm.models.layers import compute_dtype, linear, plain_ops_only


def rope_reference(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """``x * cos + rotate_half(x) * sin`` with full-width tables cos, sin [..., hd] broadcast to x."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


def _rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate the halves of x [..., hd] by half-width tables cos, sin [..., hd/2]; a contiguous result."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    o1, o2 = out[..., :half], out[..., half:]
    torch.mul(x1, cos, out=o1).addcmul_(x2, sin, value=-1)
    torch.mul(x2, cos, out=o2).addcmul_(x1, sin)
    return out


class _Rope(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        ctx.save_for_backward(cos, sin)
        return _rotate(x, cos, sin)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        cos, sin = ctx.saved_tensors
        return _rotate(grad, cos, -sin), None, None  # a rotation's transpose is its inverse


def rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotary embedding of x [..., hd] (any strides); cos, sin [..., hd/2] broadcast to x's halves."""
    if plain_ops_only():
        return rope_reference(x, torch.cat((cos, cos), dim=-1), torch.cat((sin, sin), dim=-1))
    if torch.is_grad_enabled() and x.requires_grad:
        return _Rope.apply(x, cos, sin)
    return _rotate(x, cos, sin)


def attention_reference(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """softmax(q k^T / sqrt(hd)) v with plain autograd, the softmax in float32. q, k, v [B, H, L, hd]."""
    c = compute_dtype(q.dtype)
    scores = q.to(c) @ k.to(c).transpose(-1, -2) * q.shape[-1] ** -0.5  # [B, H, L, L]
    return scores.softmax(-1).to(q.dtype) @ v


class _Attention(torch.autograd.Function):
    """q, k, v [B, H, L, hd] in the compute dtype -> [B, H, L, hd]; saves q, k, v, P, O (no L x L float32)."""

    @staticmethod
    def forward(ctx, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        with torch.autocast(q.device.type, enabled=False):
            c = compute_dtype(q.dtype)
            scale = q.shape[-1] ** -0.5
            scores = torch.matmul(q.to(c), k.to(c).transpose(-1, -2)).mul_(scale)  # [B, H, L, L]
            p = torch.softmax(scores, dim=-1).to(q.dtype)
            out = p @ v
        ctx.save_for_backward(q, k, v, p, out)
        return out

    @staticmethod
    def backward(ctx, d_out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        q, k, v, p, out = ctx.saved_tensors
        with torch.autocast(q.device.type, enabled=False):
            c = compute_dtype(q.dtype)
            d_out = d_out.to(q.dtype)
            d_v = p.transpose(-1, -2) @ d_out
            d_p = (d_out @ v.transpose(-1, -2)).to(c)  # [B, H, L, L]
            row = (d_out.to(c) * out.to(c)).sum(-1, keepdim=True)  # rowsum(dO * O) = rowsum(dP * P)
            d_s = d_p.sub_(row).mul_(p).mul_(q.shape[-1] ** -0.5).to(q.dtype)
            return d_s @ k, d_s.transpose(-1, -2) @ q, d_v


def attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Non-causal softmax attention of q, k, v [B, H, L, hd] (kernel choice: the module docstring)."""
    grad = torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad)
    if grad and q.device.type == "cpu" and not (torch.jit.is_tracing() or torch.compiler.is_exporting()):
        return _Attention.apply(q, k, v)
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
