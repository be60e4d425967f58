"""The fused rotary and the CPU training attention equal their plain definitions (values and gradients)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from trm.models import kernels
from trm.models.attention import Attention, attention, rope
from trm.models.kernels import AttentionFn, RopeFn, compute_dtype

rope_reference = rope.__wrapped__  # the plain definition in attention.py


def attention_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(hd)) v with plain autograd, the softmax in float32. q, k, v [B, H, L, hd]."""
    c = compute_dtype(q.dtype)
    scores = q.to(c) @ k.to(c).transpose(-1, -2) * q.shape[-1] ** -0.5  # [B, H, L, L]
    return scores.softmax(-1).to(q.dtype) @ v


def _tables(length: int, hd: int) -> tuple[torch.Tensor, torch.Tensor]:
    angles = torch.outer(torch.arange(length, dtype=torch.float64), torch.rand(hd // 2, dtype=torch.float64))
    return angles.cos(), angles.sin()  # [L, hd/2]


def test_rope_backward_is_the_exact_derivative():
    torch.manual_seed(0)
    cos, sin = _tables(5, 6)
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: RopeFn.apply(t, cos, sin), (x,))


@pytest.mark.parametrize("grad", [False, True])
def test_rope_equals_reference_on_a_strided_qk_slice(grad):
    """The q|k slice of a fused [B, L, 3, H, hd] product, rotated in one call, as the reference does."""
    torch.manual_seed(0)
    cos, sin = (t.float() for t in _tables(7, 8))
    qkv = torch.randn(2, 7, 3, 4, 8, requires_grad=grad)
    c, s = cos[:, None, None], sin[:, None, None]  # [L, 1, 1, hd/2]
    fast = rope(qkv[:, :, :2], c, s)
    ref = rope_reference(qkv[:, :, :2], c, s)
    assert fast.is_contiguous()
    torch.testing.assert_close(fast, ref, rtol=1e-6, atol=1e-6)
    if grad:
        upstream = torch.randn_like(ref)
        (fast_g,) = torch.autograd.grad(fast, qkv, upstream)
        (ref_g,) = torch.autograd.grad(ref, qkv, upstream)
        torch.testing.assert_close(fast_g, ref_g, rtol=1e-6, atol=1e-6)
        assert fast_g[:, :, 2].abs().max() == 0  # v is not rotated


def test_training_attention_backward_is_the_exact_derivative():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 4, dtype=torch.float64, requires_grad=True) for _ in range(3))
    assert torch.autograd.gradcheck(AttentionFn.apply, (q, k, v))


def _grads(fn, q, k, v, upstream):
    q, k, v = (t.detach().requires_grad_() for t in (q, k, v))
    out = fn(q, k, v)
    return [out.detach(), *torch.autograd.grad(out, (q, k, v), upstream.to(out.dtype))]


def test_training_attention_equals_sdpa_in_fp32():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 4, 9, 8) for _ in range(3))
    upstream = torch.randn(2, 4, 9, 8)
    fast = _grads(attention, q, k, v, upstream)
    for ref in (
        _grads(F.scaled_dot_product_attention, q, k, v, upstream),
        _grads(attention_reference, q, k, v, upstream),
    ):
        for a, b in zip(fast, ref, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_training_attention_in_bf16_is_as_accurate_as_sdpa():
    """Against float64 truth our bf16 kernel errs no more than SDPA does in bf16 (out, dq, dk, dv)."""
    torch.manual_seed(0)
    q, k, v = (torch.randn(4, 8, 33, 64, dtype=torch.float64) * 2 for _ in range(3))
    upstream = torch.randn(4, 8, 33, 64, dtype=torch.float64)
    truth = _grads(F.scaled_dot_product_attention, q, k, v, upstream)
    bf16 = [t.bfloat16() for t in (q, k, v)]
    ours = _grads(attention, *bf16, upstream)
    sdpa = _grads(F.scaled_dot_product_attention, *bf16, upstream)
    assert all(t.dtype == torch.bfloat16 for t in ours)
    for name, a, b, t in zip(("out", "dq", "dk", "dv"), ours, sdpa, truth, strict=True):
        ours_err = (a.double() - t).norm() / t.norm()
        sdpa_err = (b.double() - t).norm() / t.norm()
        assert ours_err < 0.02 and ours_err <= 1.25 * sdpa_err, (name, ours_err.item(), sdpa_err.item())


def test_attention_module_picks_the_kernel_by_grad_mode(monkeypatch):
    """With gradient on CPU the module runs AttentionFn; without, SDPA; both give the same output."""
    torch.manual_seed(0)
    module = Attention(hidden_size=32, num_heads=4, seq_len=6, rope_theta=10_000.0)
    h = torch.randn(3, 6, 32, requires_grad=True)
    calls = []
    real_apply = AttentionFn.apply
    monkeypatch.setattr(kernels.AttentionFn, "apply", lambda *a: calls.append("fused") or real_apply(*a))
    with_grad = module(h, residual=True)
    with torch.no_grad():
        without = module(h, residual=True)
    assert calls == ["fused"]
    torch.testing.assert_close(with_grad.detach(), without, rtol=1e-5, atol=1e-5)
