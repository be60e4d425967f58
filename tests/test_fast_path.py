"""The fused SwiGLU and rms_norm equal their plain references: outputs and gradients, fp32 and bf16.

(Rotary and the CPU training attention: ``test_fast_attention.py``.)

The fast path is what every model runs; the references are the plain definitions in the model files.
Also checks a whole TRM training step (forward + backward) with the kernels against the same step
with ``kernels.choose`` choosing none (SwiGLU, rms_norm, rotary, attention), for both token mixers.
"""

from __future__ import annotations

import contextlib
import copy

import pytest
import torch

from trm.config import ModelConfig
from trm.models import TRM, kernels, step_buffers
from trm.models.kernels import RMSNormFn, SwiGLUFn
from trm.models.layers import rms_norm, swiglu

# The plain definitions, as written in layers.py (``@fast_path`` keeps them as ``__wrapped__``).
rms_norm_reference = rms_norm.__wrapped__
swiglu_reference = swiglu.__wrapped__


@pytest.fixture(params=[False, True], ids=["saved", "recomputed"])
def recompute(request, monkeypatch):
    """Both SwiGLU gradient paths: silu(gate) and the product saved, or recomputed by the backward."""
    monkeypatch.setattr(kernels, "RECOMPUTE_MIN_BYTES", 0 if request.param else 1 << 62)
    return request.param


@pytest.mark.parametrize("residual", [False, True])
def test_swiglu_backward_is_the_exact_derivative(residual, recompute):
    torch.manual_seed(0)
    x = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    w_gate_up = torch.randn(8, 5, dtype=torch.float64, requires_grad=True)
    w_down = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: SwiGLUFn.apply(a, b, c, residual), (x, w_gate_up, w_down))


@pytest.mark.parametrize("dim", [-1, 1])
def test_rms_norm_backward_is_the_exact_derivative(dim):
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: RMSNormFn.apply(t, 1e-5, dim), (x,))


def _grads(fn, *tensors):
    for t in tensors:
        t.grad = None
    out = fn()
    (out.float() * torch.linspace(-1, 1, out.shape[-1])).sum().backward()  # a non-uniform upstream gradient
    return out.detach(), [t.grad.clone() for t in tensors]


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("strided", [False, True])
def test_swiglu_equals_reference_fp32(residual, strided, recompute):
    torch.manual_seed(0)
    base = torch.randn(3, 12, 7, requires_grad=True)  # x = base, or its [3, 7, 12] transposed view
    w_gate_up = (torch.randn(32, 12 if strided else 7) / 3).requires_grad_()
    w_down = (torch.randn(12 if strided else 7, 16) / 4).requires_grad_()

    def x():
        return base.transpose(1, 2) if strided else base

    fast, fast_g = _grads(lambda: swiglu(x(), w_gate_up, w_down, residual), base, w_gate_up, w_down)
    ref, ref_g = _grads(lambda: swiglu_reference(x(), w_gate_up, w_down, residual), base, w_gate_up, w_down)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-5)
    for a, b in zip(fast_g, ref_g, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    with torch.no_grad():  # the no-grad path (in-place activation) gives the same values
        torch.testing.assert_close(swiglu(x(), w_gate_up, w_down, residual), fast, rtol=0, atol=0)


@pytest.mark.parametrize("x_dtype", [torch.float32, torch.bfloat16])
def test_swiglu_under_bf16_autocast_matches_reference(x_dtype, recompute):
    torch.manual_seed(0)
    x = torch.randn(4, 9, 16).to(x_dtype).requires_grad_()
    w_gate_up = (torch.randn(48, 16) / 4).requires_grad_()
    w_down = (torch.randn(16, 24) / 5).requires_grad_()
    results = []
    for fn in (swiglu, swiglu_reference):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            results.append(_grads(lambda fn=fn: fn(x, w_gate_up, w_down, True), x, w_gate_up, w_down))
    (fast, fast_g), (ref, ref_g) = results
    assert fast.dtype == ref.dtype  # x + bf16 product: promoted like the reference's add
    assert [g.dtype for g in fast_g] == [x_dtype, torch.float32, torch.float32]
    torch.testing.assert_close(fast.float(), ref.float(), rtol=2e-2, atol=2e-2)
    for a, b in zip(fast_g, ref_g, strict=True):
        scale = b.float().abs().max()
        torch.testing.assert_close(a.float() / scale, b.float() / scale, rtol=0, atol=2e-2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("dim", [-1, 1])
def test_rms_norm_equals_reference(dtype, dim):
    torch.manual_seed(0)
    x = (torch.randn(3, 10, 8) * 3 + 1).to(dtype).requires_grad_()
    fast, (fast_g,) = _grads(lambda: rms_norm(x, 1e-5, dim), x)
    ref, (ref_g,) = _grads(lambda: rms_norm_reference(x, 1e-5, dim), x)
    assert fast.dtype == ref.dtype == fast_g.dtype == dtype
    tol = 1e-5 if dtype == torch.float32 else 1e-2
    torch.testing.assert_close(fast, ref, rtol=tol, atol=tol)
    torch.testing.assert_close(fast_g, ref_g, rtol=tol, atol=tol)
    with torch.no_grad():
        torch.testing.assert_close(rms_norm(x, 1e-5, dim), fast, rtol=0, atol=0)


def _tiny_trm(mixer: str) -> TRM:
    torch.manual_seed(0)
    config = ModelConfig(
        hidden_size=16, num_heads=2, mixer=mixer, width_multiple=8, vocab_size=6, seq_len=9,
        H_cycles=2, L_cycles=2, puzzle_emb_len=2, halt_max_steps=4,
    )  # fmt: skip
    return TRM(config).train()


def _use_reference_ops(monkeypatch) -> None:
    monkeypatch.setattr(kernels, "choose", lambda op, *args: None)  # every layer runs its plain definition


def _step_grads(model: TRM, batch: dict[str, torch.Tensor]):
    model.zero_grad(set_to_none=True)
    carry = model.initial_carry(batch)
    carry, out = model(carry, batch)  # first step: reset slots
    carry, out = model(carry, batch)  # second step: from the carried state
    (out.logits.square().mean() + out.q_halt.sum()).backward()
    grads = {n: p.grad.to_dense() for n, p in model.named_parameters() if p.grad is not None}
    return out.logits.detach(), carry.y, grads


@pytest.mark.parametrize("mixer", ["mlp_t", "attention"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_trm_step_fast_equals_reference_ops(monkeypatch, mixer, dtype, recompute):
    """Two supervision steps (12 network calls each), forward and backward, fast vs reference ops."""
    model = _tiny_trm(mixer).to(dtype)
    gen = torch.Generator().manual_seed(1)
    batch = {
        "inputs": torch.randint(1, 6, (4, 9), generator=gen),
        "labels": torch.randint(1, 6, (4, 9), generator=gen),
        "puzzle_identifiers": torch.zeros(4, dtype=torch.int32),
    }
    fast = _step_grads(model, batch)
    _use_reference_ops(monkeypatch)
    ref = _step_grads(model, batch)
    tol = 1e-6 if dtype == torch.float64 else 2e-3  # logits are returned in fp32
    torch.testing.assert_close(fast[0], ref[0], rtol=tol, atol=tol)
    torch.testing.assert_close(fast[1], ref[1], rtol=tol, atol=tol)
    assert fast[2].keys() == ref[2].keys() and "net.blocks.0.mlp.gate_up.weight" in fast[2]
    for name in fast[2]:
        scale = ref[2][name].abs().max().clamp(min=1e-6)
        torch.testing.assert_close(fast[2][name] / scale, ref[2][name] / scale, rtol=0, atol=tol, msg=name)


@pytest.mark.parametrize("mixer", ["mlp_t", "attention"])
def test_network_in_bf16_is_as_accurate_as_reference(monkeypatch, mixer):
    """Under bf16 autocast one network call errs (against float64) no more than the reference does."""
    torch.manual_seed(2)
    h = torch.randn(4, 11, 16)
    truth = _tiny_trm(mixer).double().net(h.double())
    net = _tiny_trm(mixer).net
    errors = []
    for use_reference in (False, True):
        if use_reference:
            _use_reference_ops(monkeypatch)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            out = net(h.bfloat16())
        assert out.dtype == torch.bfloat16
        errors.append((out.double() - truth).abs().max().item())
    fast_error, reference_error = errors
    assert fast_error < 0.1 and fast_error <= 1.5 * reference_error


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("reuse", [False, True])
def test_no_grad_swiglu_of_a_transposed_input_equals_reference(residual, reuse):
    """MLP-T's token mixer at batch 1 sees a column-major [D, L'] view; the no-grad kernel then multiplies
    the weights from the left (``kernels._swiglu_transposed``). Same values as the plain definition and
    as the kernel on a contiguous copy; the result is the transpose of a contiguous tensor (no copy)."""
    torch.manual_seed(0)
    h = torch.randn(1, 7, 12)  # the residual stream [1, L', D]; the mixer runs over L' = 7
    w_gate_up = torch.randn(32, 7) / 3
    w_down = torch.randn(7, 16) / 4
    x = h.transpose(1, 2)  # [1, D, L'] view
    assert kernels._column_major(x.reshape(-1, 7))
    with torch.no_grad(), step_buffers.reuse_buffers() if reuse else contextlib.nullcontext():
        fast = swiglu(x, w_gate_up, w_down, residual)
        on_copy = swiglu(x.contiguous(), w_gate_up, w_down, residual)
        again = swiglu(x, w_gate_up, w_down, residual)  # a reused buffer leaves the first result alone
    ref = swiglu_reference(x, w_gate_up, w_down, residual)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast, on_copy, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(again, fast, rtol=0, atol=0)
    assert fast.shape == (1, 12, 7) and fast.transpose(1, 2).is_contiguous()


def test_mlp_t_inference_at_batch_1_equals_reference_ops(monkeypatch):
    """Three no-grad supervision steps of one puzzle (the solver's case), kernels vs plain definitions:
    equal in float64 (where rounding cannot hide a wrong kernel), and in fp32 each path as close to the
    float64 result as the other.

    The two fp32 paths are not compared with each other at a tight bound: the kernel multiplies in
    another order, and the recursion carries fp32 rounding to 1e-4..6e-4 on values ~2.7 depending on the
    CPU's matmul code (measured on an AMD EPYC, native and AVX2-capped), for either path; it damps a
    kernel's own error about as much (1% off in the token mixer moved y by 1.3e-3).
    """
    model = _tiny_trm("mlp_t").eval()
    gen = torch.Generator().manual_seed(3)
    batch = {
        "inputs": torch.randint(1, 6, (1, 9), generator=gen),
        "puzzle_identifiers": torch.zeros(1, dtype=torch.int32),
    }

    def steps(net: TRM) -> list[torch.Tensor]:
        carry = net.initial_carry(batch)
        with torch.inference_mode():
            for _ in range(3):
                carry, out = net(carry, batch)
        return [t.double() for t in (carry.y, carry.z, out.logits, out.q_halt)]

    model64 = copy.deepcopy(model).double()
    fast, fast64 = steps(model), steps(model64)
    _use_reference_ops(monkeypatch)
    ref, exact = steps(model), steps(model64)
    for name, f, f64, r, e in zip(("y", "z", "logits", "q_halt"), fast, fast64, ref, exact, strict=True):
        torch.testing.assert_close(f64, e, rtol=1e-9, atol=1e-9, msg=f"kernels float64 {name}")
        torch.testing.assert_close(r, e, rtol=2e-3, atol=2e-3, msg=f"reference fp32 {name}")
        torch.testing.assert_close(f, e, rtol=2e-3, atol=2e-3, msg=f"kernels fp32 {name}")
