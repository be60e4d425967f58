"""The halting policy: N_sup cap, q-based halting in training, exploration in [2, N_sup], Q targets."""

from __future__ import annotations

import torch

from trm.models.halting import halt_decision, q_continue_target

N = 16
SLOTS = 20_000


def decide(steps: int, q_halt: float, *, training: bool, prob: float, q_continue: float | None = None):
    s = torch.full((SLOTS,), steps, dtype=torch.int32)
    qh = torch.full((SLOTS,), q_halt)
    qc = None if q_continue is None else torch.full((SLOTS,), q_continue)
    return halt_decision(s, qh, qc, max_steps=N, training=training, exploration_prob=prob)


def test_evaluation_halts_exactly_at_N_sup():
    for steps in range(1, N):
        assert not decide(steps, 10.0, training=False, prob=0.5).any()
    assert decide(N, -10.0, training=False, prob=0.5).all()


def test_training_halts_on_q_halt_sign_without_exploration():
    assert decide(1, 0.1, training=True, prob=0.0).all()
    assert not decide(1, -0.1, training=True, prob=0.0).any()
    assert not decide(N - 1, 0.0, training=True, prob=0.0).any()  # strictly greater than 0
    assert decide(N, -10.0, training=True, prob=0.0).all()


def test_q_learning_compares_halt_with_continue():
    assert decide(3, 0.5, training=True, prob=0.0, q_continue=0.2).all()
    assert not decide(3, 0.5, training=True, prob=0.0, q_continue=0.9).any()


def test_exploration_minimum_is_uniform_on_2_to_N_sup():
    torch.manual_seed(0)
    assert not decide(1, 10.0, training=True, prob=1.0).any()  # never before step 2
    assert decide(N, 10.0, training=True, prob=1.0).all()
    for k in (2, 5, 9, 15):
        frac = decide(k, 10.0, training=True, prob=1.0).float().mean().item()
        expected = (k - 1) / (N - 1)  # P(min <= k) with min ~ U{2..N}
        assert abs(frac - expected) < 0.02, (k, frac, expected)
    frac = decide(1, 10.0, training=True, prob=0.1).float().mean().item()
    assert abs(frac - 0.9) < 0.02  # only the exploring 10% are held back


def test_exploration_uses_the_global_rng():
    torch.manual_seed(7)
    a = decide(4, 10.0, training=True, prob=0.5)
    torch.manual_seed(7)
    b = decide(4, 10.0, training=True, prob=0.5)
    assert torch.equal(a, b)


def test_q_continue_target_is_the_next_states_value():
    qh, qc = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.0, 3.0, 2.0])
    last = torch.tensor([False, False, True])
    expected = torch.sigmoid(torch.tensor([1.0, 3.0, 0.5]))
    torch.testing.assert_close(q_continue_target(qh, qc, last), expected)
