"""Optimizers and schedule: Adam-atan2 and sign-SGD against hand computations, LR at key steps, EMA."""

from __future__ import annotations

import math

import pytest
import torch

from trm.training.ema import EMA
from trm.training.optim import AdamAtan2, SignSGD, lr_factor, total_steps


def test_adam_atan2_two_steps_match_hand_computation():
    w0, lr, wd, b1, b2 = [0.5, -1.0, 2.0], 0.1, 0.2, 0.9, 0.95
    g1, g2 = [0.3, -0.2, 0.0], [-0.1, 0.4, 0.5]
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = AdamAtan2([p], lr=lr, betas=(b1, b2), weight_decay=wd)
    w, m, v = list(w0), [0.0] * 3, [0.0] * 3
    for t, g in enumerate([g1, g2], start=1):
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        for i in range(3):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            m_hat, v_hat = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
            w[i] = w[i] * (1 - lr * wd) - lr * math.atan2(m_hat, math.sqrt(v_hat))
        assert p.tolist() == pytest.approx(w, abs=1e-12)
    # First step without decay: |update| = lr * atan2(|g|, |g|) = lr * pi/4 for any nonzero g.
    q = torch.nn.Parameter(torch.zeros(2))
    opt = AdamAtan2([q], lr=0.01)
    q.grad = torch.tensor([1e-9, -3.0])
    opt.step()
    assert q.tolist() == pytest.approx([-0.01 * math.pi / 4, 0.01 * math.pi / 4], rel=1e-6)


def test_adam_atan2_state_round_trips():
    p = torch.nn.Parameter(torch.ones(3))
    opt = AdamAtan2([p], lr=0.1, weight_decay=0.1)
    p.grad = torch.tensor([1.0, -1.0, 0.5])
    opt.step()
    opt2 = AdamAtan2([p], lr=0.1, weight_decay=0.1)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[p]["step"] == 1 and torch.equal(opt2.state[p]["exp_avg"], opt.state[p]["exp_avg"])


def test_sign_sgd_touches_only_batch_rows():
    table = torch.nn.Parameter(torch.arange(12, dtype=torch.float32).reshape(6, 2))
    before = table.detach().clone()
    table.grad = torch.full((6, 2), 0.5)
    table.grad[3] = torch.tensor([-2.0, 0.0])
    opt = SignSGD([table], lr=0.1, weight_decay=0.5)
    opt.step(torch.tensor([3, 1, 3]))  # duplicates allowed
    for r in range(6):
        if r in (1, 3):
            want = before[r] * (1 - 0.1 * 0.5) - 0.1 * torch.sign(table.grad[r])
            assert torch.allclose(table[r], want)
        else:
            assert torch.equal(table[r], before[r])  # no decay either
    assert table[3, 1].item() == pytest.approx(7.0 * 0.95)  # zero gradient: decay only


def test_sign_sgd_sparse_gradient_uses_its_own_rows():
    emb = torch.nn.Embedding(5, 3, sparse=True)
    before = emb.weight.detach().clone()
    emb(torch.tensor([0, 4])).sum().backward()
    SignSGD(emb.parameters(), lr=0.1).step()
    assert torch.allclose(emb.weight[[0, 4]], before[[0, 4]] - 0.1)
    assert torch.equal(emb.weight[1:4], before[1:4])


def test_schedule_warmup_then_cosine():
    kw = dict(warmup=10, total=110, min_ratio=0.1)
    assert lr_factor(1, **kw) == pytest.approx(0.1)
    assert lr_factor(5, **kw) == pytest.approx(0.5)
    assert lr_factor(10, **kw) == pytest.approx(1.0)
    assert lr_factor(60, **kw) == pytest.approx(0.1 + 0.9 * 0.5)  # halfway through the cosine
    assert lr_factor(110, **kw) == pytest.approx(0.1)
    assert lr_factor(500, **kw) == pytest.approx(0.1)  # clamped after the end
    assert lr_factor(60, **kw, progress=1.0) == pytest.approx(0.1)  # a spent time budget ends the cosine
    # ratio 1.0 = constant after warm-up (the papers' Sudoku setting)
    assert {lr_factor(s, warmup=2000, total=65104) for s in (2000, 30000, 65104)} == {1.0}


def test_total_steps_matches_paper_count():
    assert total_steps(50_000, 1_000, 768, None) == 65_104
    assert total_steps(50_000, 1_000, 768, 500) == 500
    assert total_steps(1, 10, 768, None) == 1


def test_ema_math_and_swap_restores_raw_weights():
    model = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 2.0]]))
    ema = EMA(model, rate=0.9)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[3.0, 0.0]]))
    ema.update(model)
    assert ema.shadow["weight"][0].tolist() == pytest.approx([0.9 * 1 + 0.1 * 3, 0.9 * 2])
    ema.update(model)
    assert ema.shadow["weight"][0].tolist() == pytest.approx([0.9 * 1.2 + 0.1 * 3, 0.9 * 1.8])
    raw = model.weight.detach().clone()
    with ema.applied(model):
        assert torch.equal(model.weight, ema.shadow["weight"])
    assert torch.equal(model.weight, raw)
    assert torch.equal(ema.model_state_dict(model)["weight"], ema.shadow["weight"])
    with pytest.raises(ValueError):
        EMA(model, rate=1.0)
