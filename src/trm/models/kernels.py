"""Fused kernels for the plain layers, and the one function that chooses between them (``choose``).

The model files (``layers.py``, ``attention.py``) define ``rms_norm``, ``swiglu``, ``rope`` and
``attention`` as the papers write them and mark each with ``@fast_path``; every call then asks
``choose`` whether a kernel below runs instead. The kernels compute the same functions in fewer
memory passes; ``tests/test_fast_path.py``, ``test_fast_attention.py`` and ``test_scratch_buffers.py``
compare them with the plain definitions (values and gradients), and ``benchmarks/cpu_kernels.py``
times them. ``choose`` decides:

- ``rms_norm``: with gradient, ``RMSNormFn``, a hand-written backward
  (``dx = r * (dy - y * mean(dy * y))``, saving only y and r): about half the memory passes of the
  composite's autograd graph. Without gradient the plain definition (one pass already).
- ``swiglu``: always (also traced, compiled, exported). Gate and up are two matmuls with
  contiguous outputs (the column halves of one product are strided, which made silu and its backward
  ~1.5x slower on CPU), the weight gradient is written per half (no ``cat`` of a [N, 2*inter]
  gradient), and the residual ``x + swiglu(x)`` of a post-norm block is accumulated by the
  down-projection's ``addmm``. At the quick-start size (d=64) these elementwise passes, not the
  matmuls, were half the CPU step time. With gradient on CPU and [N, inter] of 8 MiB or more (the paper
  models) only x, gate and up are saved: the backward recomputes silu(gate) and the hidden product
  (two elementwise passes) into two temporaries shared by all calls of a step, and writes the hidden
  gradient, then silu's derivative, over them. Against saving all four [N, inter] tensors and
  allocating the backward's, the fp32 MLP-T training step at batch 64 (2 threads, AVX2) went 22.5-22.8
  -> 19.6-19.9 s and its peak memory at batch 32 4.0 -> 2.7 GB; the small models' tensors stay in
  cache, where saving was faster (docs/speed.md, "The MLP-T training step op by op"). Without
  gradient (the T-1 no-grad cycles, inference) silu and the product overwrite the gate buffer, and
  the backward writes silu's derivative over its temporary: the [N, inter] tensors of the paper
  models (33 MB for MLP-T's at batch 64 in bf16) exceed glibc's mmap threshold, so every fresh one is
  mapped and page-faulted in; two fewer per call.
  Also without gradient, a column-major input (MLP-T's token mixer at batch 1: the [1, D, L'] view of
  the residual stream) is multiplied from the left, ``(W_down @ hidden(W_gate_up @ x^T))^T``: one
  product gives gate and up as contiguous row blocks, the residual is added without a transposing
  copy, and the block's stream stays in [L', D] order. An MLP-T inference step at batch 1 (fp32, 1
  thread, AVX2) went 542 -> 511 ms of CPU (median of 10; docs/speed.md). Each product is the same;
  the next ops see another memory order, so values move by rounding (within the equality tests).
- ``rope``: rotates the q and k slices of the qkv product in one call, half by half
  (``out_1 = x_1 cos - x_2 sin``, ``out_2 = x_2 cos + x_1 sin``: no negated copy, no ``cat``); on CPU
  1.4x (bf16) to 1.6x (fp32) faster than the rotate-half formula on q and on k. With gradient
  ``RopeFn``, whose backward is the inverse rotation (the same function with ``-sin``). While
  traced, compiled or exported the plain definition runs (plain ops for ONNX and inductor).
- ``attention``: the plain definition (PyTorch's ``scaled_dot_product_attention``, SDPA) except for
  CPU training: its CPU backward measured ~3.8x slower than ``AttentionFn`` in bf16 at the paper's
  shape (q, k, v [64, 8, 97, 64], 2 threads: 213 ms forward + backward against 57 ms). Scores come
  from q and k upcast to float32 (logits are not rounded to bf16, as in flash kernels), a float32
  softmax, P rounded to the compute dtype for ``P @ V``; the backward uses the flash identity
  ``dS = P * (dP - rowsum(dO * O))``. It also runs under ``torch.compile`` (compiled, SDPA's CPU
  backward is the same slow kernel: the compiled bf16 step went 10.2 -> 7.8 s), never while traced or
  exported.

Weights stay fp32; the caller's autocast decides the matmul dtype (the kernels read the autocast dtype
themselves and return the dtypes the plain definitions return). The SwiGLU kernels take their scratch
buffers and weight casts from ``step_buffers.py`` (one supervision step's, reused by its T(n+1) calls).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor

from trm.models.step_buffers import cast_weight, plain_ops_only, scratch

Plain = TypeVar("Plain", bound=Callable[..., Tensor])


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32, or float64 for float64 inputs (so a float64 model is exact, e.g. for gradcheck)."""
    return torch.promote_types(dtype, torch.float32)


def choose(op: str, *args: Any) -> Callable[..., Tensor] | None:
    """The kernel that runs in place of the plain definition of ``op`` on ``args``, or None (plain).

    The one place where that choice is made (the reasons: the module docstring). Tensors that may
    need gradient are passed positionally.
    """
    grad = torch.is_grad_enabled() and any(isinstance(a, Tensor) and a.requires_grad for a in args)
    if op == "rms_norm":
        return rms_norm_with_grad if grad else None
    if op == "swiglu":
        return swiglu_with_grad if grad else swiglu_no_grad
    if op == "rope":
        if plain_ops_only():
            return None
        return rope_with_grad if grad else rotate
    if op == "attention":
        traced = torch.jit.is_tracing() or torch.compiler.is_exporting()
        return attention_cpu_training if grad and args[0].device.type == "cpu" and not traced else None
    raise ValueError(f"no kernel is known for {op!r}")


def fast_path(plain: Plain) -> Plain:
    """Mark a plain definition: each call runs the kernel ``choose`` picks for it, else ``plain`` itself.

    The plain function stays reachable as ``__wrapped__`` (tests compare the two).
    """
    op = plain.__name__

    @functools.wraps(plain)
    def call(*args: Any, **kwargs: Any) -> Tensor:
        kernel = choose(op, *args)
        return (plain if kernel is None else kernel)(*args, **kwargs)

    return call  # type: ignore[return-value]


# ---- rms_norm --------------------------------------------------------------------------------------


class RMSNormFn(torch.autograd.Function):
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


def rms_norm_with_grad(x: Tensor, eps: float, dim: int = -1) -> Tensor:
    return RMSNormFn.apply(x, eps, dim)


# ---- swiglu ----------------------------------------------------------------------------------------


def _swiglu_forward(
    x: Tensor, w_gate_up: Tensor, w_down: Tensor, residual: bool, for_backward: bool
) -> tuple[Tensor, ...]:
    """(out, x, gate, up, act, hidden, w_gate_up, w_down) in the compute dtype (autocast's, else x's),
    act and hidden None where the backward recomputes them; only (out,) without ``for_backward``."""
    device = x.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
    with torch.autocast(device, enabled=False):
        x = x.to(dtype)
        w_gu, w_d = cast_weight(w_gate_up, dtype), cast_weight(w_down, dtype)
        if not for_backward and _column_major(x):
            return (_swiglu_transposed(x, w_gu, w_d, residual),)
        w_gate, w_up = w_gu.chunk(2, dim=0)  # [inter, in] each, contiguous
        rows, inter = x.shape[0], w_gate.shape[0]
        if for_backward:  # gate and up are saved; silu(gate) and the product too if small
            gate, up = x @ w_gate.t(), x @ w_up.t()  # [N, inter] each, contiguous
            if _recomputed(gate):  # hidden goes to a temporary, the backward recomputes both
                temps = _backward_temps(gate)
                hidden = torch.ops.aten.silu.out(gate, out=temps[0] if temps else torch.empty_like(gate))
                act = None
                hidden.mul_(up)
            else:
                act = F.silu(gate)
                hidden = act * up
        else:  # nothing is saved: silu and the product overwrite gate (no new [N, inter] buffers)
            buffers = scratch(rows, inter, dtype, x.device)
            if buffers is not None:
                gate = torch.mm(x, w_gate.t(), out=buffers[0])
                up = torch.mm(x, w_up.t(), out=buffers[1])
            else:
                gate, up = x @ w_gate.t(), x @ w_up.t()
            hidden = F.silu(gate, inplace=True).mul_(up)
        out = torch.addmm(x, hidden, w_d.t()) if residual else hidden @ w_d.t()  # [N, out]
    if not for_backward:
        return (out,)
    return out, x, gate, up, act, None if act is None else hidden, w_gu, w_d


# A SwiGLU with gradient on CPU whose [N, inter] tensors are at least this large saves only gate and up
# (``SwiGLUFn``). Below it, saving silu(gate) and the product too measured as fast or faster
# (sudoku9_cpu, d=64: 5% on 2 threads); above it recomputing them kept a third less memory and was
# faster: 1.00-1.05x at batch 32, 1.12-1.25x at batch 64 (benchmarks/swiglu_recompute.py, compare.py).
RECOMPUTE_MIN_BYTES = 8 << 20


def _recomputed(gate: Tensor) -> bool:
    """Recompute on CPU only: that is where it was measured (CUDA's caching allocator makes fresh
    tensors cheap, so there it would only trade time for memory)."""
    return gate.device.type == "cpu" and gate.numel() * gate.element_size() >= RECOMPUTE_MIN_BYTES


def _backward_temps(gate: Tensor) -> tuple[Tensor, ...] | None:
    """The two [N, inter] temporaries of a recomputing SwiGLU (forward: its hidden product; backward:
    silu(gate) and the product, then their gradients), shared by the step's calls of that shape."""
    return scratch(gate.shape[0], gate.shape[1], gate.dtype, gate.device, count=2, tag="backward")


def _column_major(x: Tensor) -> bool:
    """x [N, in] (N, in > 1) on CPU is the transpose of a contiguous [in, N], and not traced or compiled:
    MLP-T's token mixer at batch 1, whose [1, D, L'] input is a view of the residual stream [1, L', D]."""
    n, k = x.shape
    return x.device.type == "cpu" and n > 1 and k > 1 and x.stride() == (1, n) and not plain_ops_only()


def _swiglu_transposed(x: Tensor, w_gu: Tensor, w_d: Tensor, residual: bool) -> Tensor:
    """The no-grad SwiGLU of a column-major x [N, in], computed as ``(down @ swiglu-hidden(x^T))^T``:
    weights from the left on the contiguous x^T, so gate and up come from one product as contiguous
    row blocks, and the residual x^T is added by ``addmm`` without a transposing copy. Returns the
    column-major [N, out] view of a contiguous [out, N]."""
    xt = x.t()  # [in, N] contiguous
    inter = w_d.shape[1]
    buffers = scratch(2 * inter, xt.shape[1], xt.dtype, xt.device, count=1)
    gate_up = torch.mm(w_gu, xt, out=buffers[0]) if buffers is not None else w_gu @ xt  # [2 inter, N]
    hidden = F.silu(gate_up[:inter], inplace=True).mul_(gate_up[inter:])  # [inter, N]
    out_t = torch.addmm(xt, w_d, hidden) if residual else w_d @ hidden  # [out, N]
    return out_t.t()


class SwiGLUFn(torch.autograd.Function):
    """x [N, in] -> [N, out]; gradients are returned in the dtypes of x and the weights.

    Saves x, gate and up, and silu(gate) and the hidden product only when [N, inter] is below
    ``RECOMPUTE_MIN_BYTES``: above it the backward recomputes them (two elementwise passes), so each
    call keeps two [N, inter] tensors alive instead of four, and its temporaries are the two buffers
    of the forward's ``reuse_buffers`` block (tag "backward"), shared by every call of that shape:
    backward calls run one after another and none returns a view of them. Outside such a block (or
    off CPU) they are allocated per call.
    """

    @staticmethod
    def forward(ctx, x: Tensor, w_gate_up: Tensor, w_down: Tensor, residual: bool) -> Tensor:
        out, *saved = _swiglu_forward(x, w_gate_up, w_down, residual, True)
        ctx.residual, ctx.x_dtype, ctx.w_dtypes = residual, x.dtype, (w_gate_up.dtype, w_down.dtype)
        gate, act = saved[1], saved[3]
        ctx.temps = _backward_temps(gate) if act is None else None  # the forward's, reused
        ctx.save_for_backward(*saved)  # x, gate, up, act, hidden and the weights, in the compute dtype
        return out

    @staticmethod
    def backward(ctx, d_out: Tensor) -> tuple[Tensor, Tensor, Tensor, None]:
        x, gate, up, act, hidden, w_gate_up, w_down = ctx.saved_tensors
        d_out = d_out.to(x.dtype)  # [N, out]
        w_gate, w_up = w_gate_up.chunk(2, dim=0)
        if act is None:  # recompute the forward's values into the temporaries
            act_buf, hidden_buf = ctx.temps or (torch.empty_like(gate), torch.empty_like(gate))
            act = torch.ops.aten.silu.out(gate, out=act_buf)
            hidden = torch.mul(act, up, out=hidden_buf)
            d_w_down = d_out.t() @ hidden  # [out, inter]
            d_hidden = torch.mm(d_out, w_down, out=hidden_buf)  # hidden is no longer needed
            d_up = act.mul_(d_hidden)  # over act (d_hidden * act: the same products)
        else:
            d_w_down = d_out.t() @ hidden
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


def _swiglu(x: Tensor, w_down: Tensor, residual: bool, run: Callable[[Tensor], Tensor]) -> Tensor:
    """Apply ``run`` ([N, in] -> [N, out]) over the last axis of x [..., in]."""
    if residual and w_down.shape[0] != x.shape[-1]:
        raise ValueError(f"residual needs out == in, got {w_down.shape[0]} and {x.shape[-1]}")
    out = run(x.reshape(-1, x.shape[-1]))  # [N, out] (the reshape copies when x is a strided view)
    if residual:  # x + (...) promotes as the plain definition's add does
        out = out.to(torch.promote_types(x.dtype, out.dtype))
    return out.view(*x.shape[:-1], w_down.shape[0])


def swiglu_with_grad(x: Tensor, w_gate_up: Tensor, w_down: Tensor, residual: bool = False) -> Tensor:
    return _swiglu(x, w_down, residual, lambda flat: SwiGLUFn.apply(flat, w_gate_up, w_down, residual))


def swiglu_no_grad(x: Tensor, w_gate_up: Tensor, w_down: Tensor, residual: bool = False) -> Tensor:
    def run(flat: Tensor) -> Tensor:
        return _swiglu_forward(flat, w_gate_up, w_down, residual, False)[0]

    return _swiglu(x, w_down, residual, run)


# ---- rope ------------------------------------------------------------------------------------------


def rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate the halves of x [..., hd] by half-width tables cos, sin [..., hd/2]; a contiguous result."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    o1, o2 = out[..., :half], out[..., half:]
    torch.mul(x1, cos, out=o1).addcmul_(x2, sin, value=-1)
    torch.mul(x2, cos, out=o2).addcmul_(x1, sin)
    return out


class RopeFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        ctx.save_for_backward(cos, sin)
        return rotate(x, cos, sin)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        cos, sin = ctx.saved_tensors
        return rotate(grad, cos, -sin), None, None  # a rotation's transpose is its inverse


def rope_with_grad(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    return RopeFn.apply(x, cos, sin)


# ---- attention -------------------------------------------------------------------------------------


class AttentionFn(torch.autograd.Function):
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


def attention_cpu_training(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    return AttentionFn.apply(q, k, v)
