"""Building blocks shared by TRM and HRM: normalisation, initialisation, SwiGLU (attention: ``attention.py``).

Design choices:

- ``rms_norm`` has no learnable scale (the papers' post-norm blocks have none); it is computed in
  float32 and cast back to the input dtype, so a bf16 residual stream is normalised accurately.
  When a gradient is needed it runs as one autograd function with a hand-written backward
  (``dx = r * (dy - y * mean(dy * y))``, saving only y and r): about half the memory passes of the
  composite's autograd graph. ``rms_norm_reference`` is the plain composite; tests compare the two.
- Linear layers have no biases and are initialised with a truncated LeCun normal: samples of a
  standard normal cut at +-2, rescaled so that the *resulting* standard deviation is exactly
  ``1/sqrt(fan_in)`` (as JAX/Flax's ``lecun_normal`` does; ``nn.init.trunc_normal_`` alone would give
  a std about 12% smaller).
- SwiGLU keeps gate and up projections fused in one ``[in -> 2*inter]`` parameter;
  ``inter = round_up(round(expansion * in * 2/3), width_multiple)``. It runs as one autograd
  function (``swiglu``): gate and up are two matmuls with contiguous outputs (the column halves of
  one product are strided, which made silu and its backward ~1.5x slower on CPU), the weight
  gradient is written per half (no ``cat`` of a [N, 2*inter] gradient), and the residual
  ``x + swiglu(x)`` of a post-norm block is accumulated by the down-projection's ``addmm`` (no
  separate add). At the quick-start size (d=64) these elementwise passes, not the matmuls, were half
  the CPU step time. ``swiglu_reference`` is the plain composite; tests compare the two.
  Without gradient (the T-1 no-grad cycles, inference) silu and the product overwrite the gate
  buffer, and the backward writes silu's derivative over its temporary: the [N, inter] tensors of
  the paper models (33 MB for MLP-T's at batch 64 in bf16) exceed glibc's mmap threshold, so every
  fresh one is mapped and page-faulted in; two of them fewer per call. Inside ``reuse_buffers()``
  (the recursion opens one per supervision step) the no-grad gate and up products are written into
  buffers allocated once per block instead of on each of the T(n+1) calls (CPU only; on CUDA the
  caching allocator already reuses memory; never while traced or compiled).
- Weights stay fp32; the caller's autocast decides the matmul dtype (the fused functions read the
  autocast dtype themselves and return the same dtypes as the composites). Inside
  ``reuse_buffers()`` each SwiGLU weight is cast once per supervision step, not on every call
  (``cast_weight``; the gradient calls save that cast for their backward instead of recasting):
  at batch 1 in bf16 the casts were a third of an MLP-T inference step (213 -> 146 ms, 2 threads).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32, or float64 for float64 inputs (so a float64 model is exact, e.g. for gradcheck)."""
    return torch.promote_types(dtype, torch.float32)


def plain_ops_only() -> bool:
    """True while traced, compiled or exported: the fused eager paths step aside for plain ops."""
    return torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.compiler.is_exporting()


def rms_norm_reference(x: Tensor, eps: float, dim: int = -1) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over ``dim``, computed in float32, returned in x's dtype (plain autograd)."""
    x32 = x.to(compute_dtype(x.dtype))
    return (x32 * torch.rsqrt(x32.square().mean(dim, keepdim=True) + eps)).to(x.dtype)


class _RMSNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, eps: float, dim: int) -> Tensor:
        x32 = x.to(compute_dtype(x.dtype))
        r = torch.rsqrt(x32.square().mean(dim, keepdim=True).add_(eps))  # [..., 1, ...] along dim
        y = x32 * r
        ctx.dim = dim
        ctx.save_for_backward(y, r)
        return y.to(x.dtype)

    @staticmethod
    def backward(ctx, dy: Tensor) -> tuple[Tensor, None, None]:
        y, r = ctx.saved_tensors
        dy32 = dy.to(y.dtype)
        m = (dy32 * y).mean(ctx.dim, keepdim=True)
        return torch.addcmul(dy32, y, m, value=-1).mul_(r).to(dy.dtype), None, None


def rms_norm(x: Tensor, eps: float, dim: int = -1) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over ``dim``, computed in float32, returned in x's dtype."""
    if torch.is_grad_enabled() and x.requires_grad:
        return _RMSNorm.apply(x, eps, dim)
    x32 = x.to(compute_dtype(x.dtype))
    return (x32 * torch.rsqrt(x32.square().mean(dim, keepdim=True).add_(eps))).to(x.dtype)


def swiglu_width(in_features: int, expansion: float, multiple: int) -> int:
    """Hidden width of a SwiGLU: round(expansion * in * 2/3) rounded up to a multiple of ``multiple``."""
    width = round(expansion * in_features * 2 / 3)
    return -(-width // multiple) * multiple


def swiglu_reference(x: Tensor, w_gate_up: Tensor, w_down: Tensor, residual: bool = False) -> Tensor:
    """``down(silu(gate(x)) * up(x))`` (+ x if ``residual``) with plain autograd. x [..., in]."""
    gate, up = F.linear(x, w_gate_up).chunk(2, dim=-1)  # [..., inter] each
    out = F.linear(F.silu(gate) * up, w_down)  # [..., out]
    return x + out if residual else out


# Scratch buffers of no-grad SwiGLUs, alive for one ``reuse_buffers()`` block (a context variable:
# each thread or task has its own, so concurrent model calls never share one).
_SCRATCH: ContextVar[dict | None] = ContextVar("trm_swiglu_scratch", default=None)
# Weight casts of the same block (any device): (id, dtype) -> (weight, its version, cast).
_CASTS: ContextVar[dict | None] = ContextVar("trm_weight_casts", default=None)


@contextmanager
def reuse_buffers() -> Iterator[None]:
    """Within this block, SwiGLUs without gradient on CPU reuse their [N, inter] gate/up buffers, and
    every SwiGLU casts each weight to the compute dtype once (``cast_weight``).

    A supervision step makes T(n+1) network calls with the same shapes; the buffers are allocated
    on the first and freed when the block ends. Results are unchanged (the same ops, written with
    ``out=``; the same casts). Nested blocks share the outermost one's buffers.
    """
    if _SCRATCH.get() is not None:
        yield
        return
    token, casts_token = _SCRATCH.set({}), _CASTS.set({})
    try:
        yield
    finally:
        _SCRATCH.reset(token)
        _CASTS.reset(casts_token)


def _scratch(rows: int, inter: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor] | None:
    """(gate, up) buffers [rows, inter] of the active ``reuse_buffers`` block, or None (no block, not
    CPU, or traced/compiled: those keep plain allocations)."""
    if device.type != "cpu" or plain_ops_only():
        return None
    scratch = _SCRATCH.get()
    if scratch is None:
        return None
    key = (rows, inter, dtype)
    if key not in scratch:
        scratch[key] = (torch.empty(rows, inter, dtype=dtype), torch.empty(rows, inter, dtype=dtype))
    return scratch[key]


def cast_weight(w: Tensor, dtype: torch.dtype) -> Tensor:
    """``w`` in ``dtype``, without gradient; inside ``reuse_buffers()`` each weight is cast once per block.

    A supervision step casts every SwiGLU weight once instead of on each of its T(n+1) calls (at
    batch 1 the casts were a third of the step). A cast is reused only while the weight is at the same
    version (an in-place update makes a fresh one); never while traced or compiled.
    """
    if w.dtype == dtype:
        return w
    casts = _CASTS.get()
    if casts is None or plain_ops_only():
        return w.detach().to(dtype)
    key = (id(w), dtype)  # the entry holds w, so the id stays w's while the block lives
    hit = casts.get(key)
    if hit is None or hit[1] != w._version:
        hit = casts[key] = (w, w._version, w.detach().to(dtype))
    return hit[2]


def _swiglu_forward(
    x: Tensor, w_gate_up: Tensor, w_down: Tensor, residual: bool, for_backward: bool
) -> tuple[Tensor, ...]:
    """(out, x, gate, up, act, hidden, w_gate_up, w_down) in the compute dtype (autocast's, else x's)."""
    device = x.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
    with torch.autocast(device, enabled=False):
        x = x.to(dtype)
        w_gu, w_d = cast_weight(w_gate_up, dtype), cast_weight(w_down, dtype)
        w_gate, w_up = w_gu.chunk(2, dim=0)  # [inter, in] each, contiguous
        buffers = None if for_backward else _scratch(x.shape[0], w_gate.shape[0], dtype, x.device)
        if buffers is not None:
            gate, up = torch.mm(x, w_gate.t(), out=buffers[0]), torch.mm(x, w_up.t(), out=buffers[1])
        else:
            gate, up = x @ w_gate.t(), x @ w_up.t()  # [N, inter] each, contiguous
        if for_backward:
            act = F.silu(gate)
            hidden = act * up  # [N, inter]
        else:  # nothing is saved: overwrite gate (no new [N, inter] buffers)
            act = hidden = F.silu(gate, inplace=True).mul_(up)
        out = torch.addmm(x, hidden, w_d.t()) if residual else hidden @ w_d.t()  # [N, out]
    return out, x, gate, up, act, hidden, w_gu, w_d


class _SwiGLU(torch.autograd.Function):
    """x [N, in] -> [N, out]; gradients are returned in the dtypes of x and the weights."""

    @staticmethod
    def forward(ctx, x: Tensor, w_gate_up: Tensor, w_down: Tensor, residual: bool) -> Tensor:
        out, *saved = _swiglu_forward(x, w_gate_up, w_down, residual, True)
        ctx.residual, ctx.x_dtype, ctx.w_dtypes = residual, x.dtype, (w_gate_up.dtype, w_down.dtype)
        ctx.save_for_backward(*saved)  # x, gate, up, act, hidden and the weights, all in the compute dtype
        return out

    @staticmethod
    def backward(ctx, d_out: Tensor) -> tuple[Tensor, Tensor, Tensor, None]:
        x, gate, up, act, hidden, w_gate_up, w_down = ctx.saved_tensors
        d_out = d_out.to(x.dtype)  # [N, out]
        w_gate, w_up = w_gate_up.chunk(2, dim=0)
        d_w_down = d_out.t() @ hidden  # [out, inter]
        d_hidden = d_out @ w_down  # [N, inter]
        d_up = d_hidden * act
        # silu's backward written over d_hidden (a temporary; same-position aliasing is allowed):
        # one [N, inter] buffer fewer to allocate (and page-fault in) per backward call.
        d_hidden.mul_(up)
        d_gate = torch.ops.aten.silu_backward.grad_input(d_hidden, gate, grad_input=d_hidden)
        inter = gate.shape[1]
        gate_up_dtype, down_dtype = ctx.w_dtypes
        d_w_gate_up = w_gate_up.new_empty(w_gate_up.shape, dtype=gate_up_dtype)  # written per half (no cat)
        d_w_gate_up[:inter] = d_gate.t() @ x
        d_w_gate_up[inter:] = d_up.t() @ x
        d_x = torch.addmm(d_gate @ w_gate, d_up, w_up)  # [N, in]
        if ctx.residual:
            d_x += d_out
        return d_x.to(ctx.x_dtype), d_w_gate_up, d_w_down.to(down_dtype), None


def swiglu(x: Tensor, w_gate_up: Tensor, w_down: Tensor, residual: bool = False) -> Tensor:
    """``down(silu(gate(x)) * up(x))`` (+ x if ``residual``) over the last axis of x [..., in].

    The same function as ``swiglu_reference`` in fewer memory passes (see the module docstring).
    """
    if residual and w_down.shape[0] != x.shape[-1]:
        raise ValueError(f"residual needs out == in, got {w_down.shape[0]} and {x.shape[-1]}")
    flat = x.reshape(-1, x.shape[-1])  # [N, in] (a copy when x is a strided view)
    if torch.is_grad_enabled() and (x.requires_grad or w_gate_up.requires_grad or w_down.requires_grad):
        out = _SwiGLU.apply(flat, w_gate_up, w_down, residual)  # [N, out]
    else:
        out = _swiglu_forward(flat, w_gate_up, w_down, residual, False)[0]
    if residual:  # x + (...) promotes as the reference's add does
        out = out.to(torch.promote_types(x.dtype, out.dtype))
    return out.view(*x.shape[:-1], w_down.shape[0])


class SwiGLU(nn.Module):
    """down(silu(gate(x)) * up(x)) over the last axis, gate and up in one parameter."""

    def __init__(self, in_features: int, expansion: float, width_multiple: int) -> None:
        super().__init__()
        self.inter = swiglu_width(in_features, expansion, width_multiple)
        self.gate_up = linear(in_features, 2 * self.inter)
        self.down = linear(self.inter, in_features)

    def forward(self, x: Tensor, residual: bool = False) -> Tensor:  # [..., in] -> [..., in]
        """The SwiGLU of x, or ``x + SwiGLU(x)`` with ``residual`` (one fused add)."""
        return swiglu(x, self.gate_up.weight, self.down.weight, residual)
