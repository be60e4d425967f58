"""``step_buffers.reuse_buffers``: no-grad SwiGLUs write into buffers kept for one block; same results."""

from __future__ import annotations

import contextlib
import threading

import pytest
import torch

import trm.models.recursion as recursion
from trm.config import ModelConfig
from trm.models import kernels, step_buffers
from trm.models.layers import swiglu
from trm.models.step_buffers import reuse_buffers
from trm.models.trm import TRM


def _weights(d_in: int, inter: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(2 * inter, d_in, generator=gen) / d_in**0.5, torch.randn(
        d_in, inter, generator=gen
    ) / inter**0.5


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("residual", [False, True])
def test_reused_buffers_give_the_same_values_call_after_call(dtype, residual):
    gen = torch.Generator().manual_seed(0)
    w_gate_up, w_down = _weights(24, 40, gen)
    xs = [torch.randn(3, 7, 24, generator=gen) for _ in range(3)]
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
        fresh = [swiglu(x, w_gate_up, w_down, residual) for x in xs]
        with reuse_buffers():
            reused = [swiglu(x, w_gate_up, w_down, residual) for x in xs]  # the same buffers, three inputs
            assert len(step_buffers._SCRATCH.get()) == 1  # one (rows, inter, dtype) entry, reused
    for a, b in zip(fresh, reused, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)  # bit-identical: the same ops
    assert not torch.equal(reused[0], reused[1])  # outputs are not views of a shared buffer


def test_buffers_are_released_after_the_block_and_not_shared_across_threads():
    seen: list[object] = []
    with reuse_buffers():
        assert step_buffers._SCRATCH.get() == {}
        thread = threading.Thread(target=lambda: seen.append(step_buffers._SCRATCH.get()))
        thread.start()
        thread.join()
        with reuse_buffers():  # nested: the outer block's buffers
            inner = step_buffers._SCRATCH.get()
        assert inner is step_buffers._SCRATCH.get()
    assert seen == [None]  # another thread has its own (empty) context
    assert step_buffers._SCRATCH.get() is None


def test_grad_path_shares_only_its_backward_temporaries_and_gives_the_same_gradients(monkeypatch):
    monkeypatch.setattr(kernels, "RECOMPUTE_MIN_BYTES", 0)  # these shapes are small: recompute anyway
    gen = torch.Generator().manual_seed(1)
    w_gate_up, w_down = (w.requires_grad_() for w in _weights(16, 32, gen))
    xs = [torch.randn(5, 16, generator=gen, requires_grad=True) for _ in range(3)]

    def grads(reuse: bool) -> list[torch.Tensor]:
        for t in (w_gate_up, w_down, *xs):
            t.grad = None
        with reuse_buffers() if reuse else contextlib.nullcontext():
            out = sum((swiglu(x, w_gate_up, w_down) * (i + 1)).sum() for i, x in enumerate(xs))
            if reuse:  # one entry, shared by the three calls; the no-grad buffers are not made
                assert list(step_buffers._SCRATCH.get()) == [("backward", 5, 32, torch.float32, 2)]
        out.backward()  # after the block: the graph keeps the temporaries alive
        return [t.grad.clone() for t in (w_gate_up, w_down, *xs)]

    for a, b in zip(grads(True), grads(False), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def _tiny(mixer: str) -> TRM:
    torch.manual_seed(0)
    config = ModelConfig(
        hidden_size=32, num_heads=2, expansion=2.0, num_layers=2, mixer=mixer, H_cycles=3, L_cycles=2,
        puzzle_emb_len=2, vocab_size=6, seq_len=9, num_puzzle_identifiers=3, width_multiple=16,
    )  # fmt: skip
    return TRM(config)


def _batch(gen: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        "inputs": torch.randint(1, 6, (4, 9), generator=gen, dtype=torch.int32),
        "labels": torch.randint(1, 6, (4, 9), generator=gen, dtype=torch.int32),
        "puzzle_identifiers": torch.randint(0, 3, (4,), generator=gen, dtype=torch.int32),
    }


def _run(model: TRM, dtype: torch.dtype, train: bool) -> list[torch.Tensor]:
    """Two supervision steps; returns logits of both and (in training) the gradients."""
    model.train(train)
    model.zero_grad(set_to_none=True)
    batch = _batch(torch.Generator().manual_seed(2))
    carry = model.initial_carry(batch)
    outs = []
    for _ in range(2):
        with (
            torch.set_grad_enabled(train),
            torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32),
        ):
            carry, out = model(carry, batch)
        if train:
            out.logits.float().square().mean().backward()
        outs.append(out.logits.detach())
    if train:
        outs += [p.grad.to_dense() for p in model.parameters() if p.grad is not None]
    return outs


@pytest.mark.parametrize("mixer", ["mlp_t", "attention"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("recompute", [False, True])
def test_model_steps_are_bit_identical_with_and_without_reused_buffers(
    monkeypatch, mixer, dtype, train, recompute
):
    monkeypatch.setattr(kernels, "RECOMPUTE_MIN_BYTES", 0 if recompute else 1 << 62)
    model = _tiny(mixer)
    with_reuse = _run(model, dtype, train)
    monkeypatch.setattr(recursion, "reuse_buffers", contextlib.nullcontext)
    without = _run(model, dtype, train)
    assert len(with_reuse) == len(without) > 1
    for a, b in zip(with_reuse, without, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_weight_casts_are_made_once_per_block_and_redone_after_an_update():
    w = torch.randn(8, 4)
    with reuse_buffers():
        first = step_buffers.cast_weight(w, torch.bfloat16)
        assert step_buffers.cast_weight(w, torch.bfloat16) is first  # the block's cast, reused
        assert step_buffers.cast_weight(w, torch.float32) is w  # no cast needed
        with torch.no_grad():
            w.add_(1.0)  # an in-place update (an optimizer step) bumps the version
        fresh = step_buffers.cast_weight(w, torch.bfloat16)
        assert fresh is not first and torch.equal(fresh, w.bfloat16())
    assert step_buffers._CASTS.get() is None  # released with the block
    assert step_buffers.cast_weight(w, torch.bfloat16) is not step_buffers.cast_weight(
        w, torch.bfloat16
    )  # no block
