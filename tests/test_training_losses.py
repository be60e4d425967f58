"""Losses of one supervision step: stablemax by hand, ignored labels, halting targets, scaling."""

from __future__ import annotations

import math

import pytest
import torch

from trm.training.losses import (
    IGNORE_LABEL,
    STAT_NAMES,
    deep_supervision_loss,
    log_stablemax,
    summarize_stats,
    token_cross_entropy,
)


def _stablemax_by_hand(xs: list[float]) -> list[float]:
    s = [1.0 / (1.0 - x) if x < 0 else x + 1.0 for x in xs]
    total = sum(s)
    return [v / total for v in s]


def test_log_stablemax_matches_hand_computation():
    xs = [-3.0, -0.5, 0.0, 0.25, 2.0]
    got = log_stablemax(torch.tensor(xs, dtype=torch.float64)).exp().tolist()
    assert got == pytest.approx(_stablemax_by_hand(xs), abs=1e-15)
    # p(-3) = (1/4) / (1/4 + 2/3 + 1 + 1.25 + 3)
    assert got[0] == pytest.approx(0.25 / (0.25 + 2 / 3 + 1 + 1.25 + 3), abs=1e-15)


def test_stablemax_cross_entropy_is_float64_and_exact():
    logits = torch.tensor([[[1.0, -2.0, 0.5], [0.0, 0.0, 3.0]]])  # [1, 2, 3] float32
    labels = torch.tensor([[1, 2]])
    ce = token_cross_entropy(logits, labels, "stablemax")
    assert ce.dtype == torch.float64
    want = [
        -math.log(_stablemax_by_hand([1.0, -2.0, 0.5])[1]),
        -math.log(_stablemax_by_hand([0.0, 0.0, 3.0])[2]),
    ]
    assert ce[0].tolist() == pytest.approx(want, abs=1e-12)


def test_softmax_cross_entropy_matches_torch():
    torch.manual_seed(0)
    logits, labels = torch.randn(3, 5, 7), torch.randint(0, 7, (3, 5))
    ce = token_cross_entropy(logits, labels, "softmax")
    ref = torch.nn.functional.cross_entropy(logits.reshape(-1, 7), labels.reshape(-1), reduction="none")
    assert torch.allclose(ce.reshape(-1), ref, atol=1e-6)


def test_stablemax_gradients_are_finite_at_branch_points():
    x = torch.tensor([[[1.0, -1.0, 0.0, 5.0]]], dtype=torch.float32, requires_grad=True)
    token_cross_entropy(x, torch.tensor([[0]])).sum().backward()
    assert torch.isfinite(x.grad).all()


def _step(logits, labels, q_halt, halted=None, steps=None, **kw):
    b = labels.shape[0]
    halted = torch.ones(b, dtype=torch.bool) if halted is None else halted
    steps = torch.ones(b, dtype=torch.int32) if steps is None else steps
    return deep_supervision_loss(logits, labels, q_halt, halted=halted, steps=steps, **kw)


def test_ignored_labels_do_not_count_and_loss_is_per_slot_mean_over_global_batch():
    torch.manual_seed(1)
    logits = torch.randn(2, 4, 5)
    labels = torch.randint(0, 5, (2, 4))
    labels[0, 2:] = IGNORE_LABEL
    q = torch.zeros(2)
    loss, stats = _step(logits, labels, q, global_batch_size=8, q_loss_weight=0.0)
    ce = token_cross_entropy(logits, labels)
    want = (ce[0, :2].mean() + ce[1].mean()) / 8
    assert loss.item() == pytest.approx(want.item(), rel=1e-6)
    # Changing the logits at ignored positions changes nothing.
    logits2 = logits.clone()
    logits2[0, 2:] = 100.0
    loss2, _ = _step(logits2, labels, q, global_batch_size=8, q_loss_weight=0.0)
    assert loss2.item() == loss.item()
    assert stats.shape == (len(STAT_NAMES),)


def test_halting_target_is_whole_answer_exactly_right():
    labels = torch.tensor([[1, 2, IGNORE_LABEL], [1, 2, 0]])
    logits = torch.full((2, 3, 3), -5.0)
    logits[0, 0, 1] = logits[0, 1, 2] = 5.0  # slot 0: both valid tokens right (the ignored one is wrong)
    logits[1, 0, 1] = logits[1, 1, 2] = 5.0  # slot 1: last token predicts 0? no: all -5 -> argmax 0 -> right
    logits[1, 2, 1] = 5.0  # ...now the last token is wrong
    q = torch.tensor([0.3, -0.7])
    loss, stats = _step(logits, labels, q, global_batch_size=2, q_loss_weight=0.5)
    lm = token_cross_entropy(logits, labels)
    lm_loss = lm[0, :2].mean() + lm[1].mean()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(q, torch.tensor([1.0, 0.0]), reduction="sum")
    assert loss.item() == pytest.approx(((lm_loss + 0.5 * bce) / 2).item(), rel=1e-6)
    s = dict(zip(STAT_NAMES, stats.tolist(), strict=True))
    assert s["halted_exact"] == 1 and s["all_exact"] == 1
    assert s["halted_q_correct"] == 2  # q>0 on the right slot, q<0 on the wrong one
    assert s["halted_token_correct"] == pytest.approx(1.0 + 2 / 3)


def test_q_continue_loss_is_added_with_the_same_weight():
    logits, labels = torch.zeros(2, 2, 3), torch.zeros(2, 2, dtype=torch.long)
    q, qc, tgt = torch.zeros(2), torch.tensor([0.5, -1.0]), torch.tensor([0.8, 0.1])
    base, _ = _step(logits, labels, q, global_batch_size=4)
    with_c, stats = _step(logits, labels, q, global_batch_size=4, q_continue=qc, target_q_continue=tgt)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(qc, tgt, reduction="sum")
    assert (with_c - base).item() == pytest.approx((0.5 * bce / 4).item(), rel=1e-6)
    with pytest.raises(ValueError, match="target_q_continue"):
        _step(logits, labels, q, global_batch_size=4, q_continue=qc)


def test_metrics_use_halted_slots_and_skip_empty_windows():
    labels = torch.tensor([[1], [1], [1]])
    logits = torch.zeros(3, 1, 3)
    logits[0, 0, 1] = 1.0  # slot 0 right, slots 1-2 wrong
    halted = torch.tensor([True, False, False])
    steps = torch.tensor([4, 2, 3], dtype=torch.int32)
    _, stats = _step(logits, labels, torch.zeros(3), halted=halted, steps=steps, global_batch_size=3)
    m = summarize_stats(stats.tolist(), 1)
    assert m["exact_accuracy"] == 1.0 and m["steps"] == 4.0 and m["halted_fraction"] == pytest.approx(1 / 3)
    assert m["all_exact_accuracy"] == pytest.approx(1 / 3)
    _, none_halted = _step(
        logits, labels, torch.zeros(3), halted=torch.zeros(3, dtype=torch.bool), global_batch_size=3
    )
    assert "exact_accuracy" not in summarize_stats(none_halted.tolist(), 1)
