"""``buffers.BufferPool``: SwiGLU gradient calls reuse their buffers step after step; results never change.

A buffer is handed out again only when nothing holds it (a view, a saved tensor of a live graph);
forward values and gradients with the pool equal those with fresh allocations, bit for bit, also when
two graphs are alive at once.
"""

from __future__ import annotations

import threading

import pytest
import torch

from trm.config import ModelConfig
from trm.models import buffers, kernels
from trm.models.buffers import BufferPool, pool_for
from trm.models.kernels import SwiGLUFn
from trm.models.trm import TRM


@pytest.fixture
def pool_everything(monkeypatch):
    """Pool buffers of any size (the tiny test shapes are below ``MIN_BYTES``)."""
    monkeypatch.setattr(buffers, "MIN_BYTES", 0)


def _no_pool(monkeypatch) -> None:
    monkeypatch.setattr(kernels, "_grad_pool", lambda x, w: None)


def test_a_buffer_is_reused_only_when_nothing_holds_it(pool_everything):
    pool = BufferPool()
    a = pool.empty((4, 3), torch.float32)
    b = pool.empty((4, 3), torch.float32)
    assert a.data_ptr() != b.data_ptr()  # a is still held
    view = a[1:]
    a_ptr = a.data_ptr()
    del a
    c = pool.empty((4, 3), torch.float32)
    assert c.data_ptr() != a_ptr  # a view of a's buffer still holds it
    del view
    d = pool.empty((4, 3), torch.float32)
    assert d.data_ptr() == a_ptr and len(pool) == 3
    assert pool.empty((3, 4), torch.float32).shape == (3, 4)  # another shape: another buffer
    assert pool.empty((4, 3), torch.float64).dtype == torch.float64


def test_small_buffers_are_not_kept():
    pool = BufferPool()
    pool.empty((2, 2), torch.float32)
    assert len(pool) == 0


def test_each_weight_has_its_own_pool_dropped_with_it():
    w, v = torch.zeros(2), torch.zeros(2)
    assert pool_for(w) is pool_for(w) and pool_for(w) is not pool_for(v)
    size = len(buffers._POOLS)
    del w
    assert len(buffers._POOLS) == size - 1


def test_threads_never_get_the_same_buffer(pool_everything):
    pool, taken, lock = BufferPool(), [], threading.Lock()

    def take() -> None:
        for _ in range(50):
            buf = pool.empty((8, 8), torch.float32)
            with lock:
                taken.append(buf)  # all kept: no buffer may be handed out twice

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({t.data_ptr() for t in taken}) == len(taken) == 200


def _chain(x, w_gate_up, w_down, calls: int):
    h = x
    for _ in range(calls):
        h = SwiGLUFn.apply(h, w_gate_up, w_down, True)
    return h


def _leaves(gen: torch.Generator):
    x = torch.randn(12, 9, generator=gen).requires_grad_()
    w_gate_up = (torch.randn(2 * 16, 9, generator=gen) / 3).requires_grad_()
    w_down = (torch.randn(9, 16, generator=gen) / 4).requires_grad_()
    return x, w_gate_up, w_down


def _run(leaves, calls: int = 3):
    for t in leaves:
        t.grad = None
    out = _chain(*leaves, calls)
    (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
    return out.detach(), [t.grad.clone() for t in leaves]


def test_pooled_swiglu_equals_fresh_allocations(monkeypatch, pool_everything):
    leaves = _leaves(torch.Generator().manual_seed(0))
    pooled = [_run(leaves) for _ in range(3)]  # the later runs reuse the first run's buffers
    assert len(pool_for(leaves[1])) > 0
    _no_pool(monkeypatch)
    fresh = _run(leaves)
    for out, grads in pooled:
        assert torch.equal(out, fresh[0])
        assert all(torch.equal(g, f) for g, f in zip(grads, fresh[1], strict=True))


def test_two_live_graphs_never_share_a_buffer(monkeypatch, pool_everything):
    """Two forwards before their backwards (buffers held by the first graph must not be reused)."""
    leaves = _leaves(torch.Generator().manual_seed(0))
    x, w_gate_up, w_down = leaves
    second_x = (x.detach() * 0.5).requires_grad_()
    first = _chain(x, w_gate_up, w_down, 2)
    second = _chain(second_x, w_gate_up, w_down, 2)  # while the first graph holds its buffers
    first.sum().backward()
    second.sum().backward()
    pooled = [t.grad.clone() for t in (x, second_x, w_gate_up, w_down)]
    for t in (x, second_x, w_gate_up, w_down):
        t.grad = None
    _no_pool(monkeypatch)
    _chain(x, w_gate_up, w_down, 2).sum().backward()
    _chain(second_x, w_gate_up, w_down, 2).sum().backward()
    fresh = [t.grad for t in (x, second_x, w_gate_up, w_down)]
    assert all(torch.equal(p, f) for p, f in zip(pooled, fresh, strict=True))


def _step_grads(model: TRM, batch: dict[str, torch.Tensor]):
    model.zero_grad(set_to_none=True)
    carry = model.initial_carry(batch)
    for _ in range(2):  # two training steps: the second reuses the first one's buffers
        carry, out = model(carry, batch)
        (out.logits.square().mean() + out.q_halt.sum()).backward()
    grads = {
        n: p.grad.to_dense() for n, p in model.named_parameters() if p.grad is not None
    }  # puzzle emb: sparse
    return out.logits.detach(), grads


@pytest.mark.parametrize("mixer", ["mlp_t", "attention"])
def test_trm_training_steps_equal_with_and_without_the_pool(monkeypatch, pool_everything, mixer):
    torch.manual_seed(0)
    config = ModelConfig(
        hidden_size=16, num_heads=2, mixer=mixer, width_multiple=8, vocab_size=6, seq_len=9,
        H_cycles=2, L_cycles=2, puzzle_emb_len=2, halt_max_steps=4,
    )  # fmt: skip
    model = TRM(config).train()
    gen = torch.Generator().manual_seed(1)
    batch = {
        "inputs": torch.randint(1, 6, (4, 9), generator=gen),
        "labels": torch.randint(1, 6, (4, 9), generator=gen),
        "puzzle_identifiers": torch.zeros(4, dtype=torch.int32),
    }
    logits, grads = _step_grads(model, batch)
    assert len(pool_for(model.net.blocks[0].mlp.gate_up.weight)) > 0  # the pool was used
    _no_pool(monkeypatch)
    fresh_logits, fresh_grads = _step_grads(model, batch)
    assert torch.equal(logits, fresh_logits)
    assert grads.keys() == fresh_grads.keys()
    assert all(torch.equal(grads[k], fresh_grads[k]) for k in grads)
