"""Particle search (``smc``), its gate and the cloud diagnostics: the spec, resampling by the halting
head's weights, the noise-free reference is the plain pass, the gate keeps confident puzzles' plain
answers at plain cost, early stopping ends a puzzle's particles together, the diagnostics stay in range."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trm.inference.ttc import TTCRunner, TTCSpecError, parse_spec
from trm.inference.ttc.diagnose import Diagnostics, auroc, cell_entropy
from trm.inference.ttc.particles import effective_sample_size, normalized_weights, resample_indices
from trm.inference.ttc.select import halt_probability, select_wvote
from ttc_helpers import sudoku_tokens, tiny_model

N_SUP = 3


@pytest.fixture(scope="module")
def model():
    return tiny_model(N_SUP)


@pytest.fixture(scope="module")
def tokens():
    return sudoku_tokens()


def run(model, tokens, spec: str):
    runner = TTCRunner(
        model, parse_spec(spec), task="sudoku", grid_shape=(6, 6), vocab_size=8,
        device=torch.device("cpu"), dtype=torch.float32,
    )  # fmt: skip
    return runner.run(tokens, np.zeros(len(tokens)), record_steps=True)


def test_spec_reads_smc_and_its_defaults():
    s = parse_spec("smc:k=8,sigma=0.3,resample=q,every=2,stop=agree,conf=0.7,gate=q,tau=0.4")
    assert (s.smc, s.noise_k, s.sigma, s.resample, s.every, s.stop, s.conf, s.gate, s.tau) == (
        True, 8, 0.3, "q", 2, "agree", 0.7, "q", 0.4,
    )  # fmt: skip
    s = parse_spec("smc:k=4")
    assert (s.select, s.resample, s.stop, s.gate, s.answer_step()) == ("q", "ess", "q", "none", "last")
    assert parse_spec("smc:k=4,select=wvote").select == "wvote"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("smc:k=0", "k must be >= 1"),
        ("smc:k=4,resample=always", "resample='always' is not one of q, ess, none"),
        ("smc:k=4,every=0", "every must be >= 1"),
        ("smc:k=4,conf=1.5", "conf is a probability"),
        ("smc:k=4,gate=yes", "gate='yes' is not one of none, q, agree"),
        ("smc:k=4+noise:k=2", "smc and noise both"),
        ("smc:k=4,gate=q+augment:k=2", "not with augment"),
        ("smc:k=4,gate=maybe", "not one of none, q, agree"),
        ("noise:k=4,resample=q", "noise has no option 'resample'"),
    ],
)
def test_bad_smc_specs_say_what_is_wrong(spec, words):
    with pytest.raises(TTCSpecError) as err:
        parse_spec(spec)
    assert words in str(err.value) and spec in str(err.value)


def test_systematic_resampling_keeps_k_and_follows_the_weights():
    w = normalized_weights(np.array([[2.0, -1.0, 0.0, -3.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(w.sum(1), 1.0)
    rng = np.random.default_rng(3)
    counts = np.zeros_like(w)
    for _ in range(2000):
        anc = resample_indices(w, rng)
        assert anc.shape == w.shape and anc.min() >= 0 and anc.max() < 5
        c = np.stack([np.bincount(a, minlength=5) for a in anc])
        assert np.all((c >= np.floor(5 * w - 1e-9)) & (c <= np.ceil(5 * w + 1e-9)))  # systematic: floor/ceil
        counts += c
    np.testing.assert_allclose(counts / 2000, 5 * w, atol=0.05)  # in expectation, K * w children
    again = resample_indices(w, np.random.default_rng(3))
    assert np.array_equal(again, resample_indices(w, np.random.default_rng(3)))  # seeded
    assert np.allclose(effective_sample_size(w[1:]), 5.0) and effective_sample_size(w[:1])[0] < 5.0
    assert np.all(halt_probability(np.array([-1e4, 0.0, 1e4])) == np.array([0.0, 0.5, 1.0]))


def test_one_particle_without_noise_is_the_plain_rollout(model, tokens):
    plain = run(model, tokens, "steps:n=5")
    smc = run(model, tokens, "steps:n=5+smc:k=1,sigma=0")
    assert np.array_equal(smc.every, plain.every) and np.array_equal(smc.last, plain.last)
    np.testing.assert_array_equal(smc.every_q, plain.every_q)
    assert np.array_equal(smc.calls, plain.calls)


def test_without_noise_resampled_particles_all_give_the_plain_answer(model, tokens):
    plain = run(model, tokens, "steps:n=4")
    smc = run(model, tokens, "steps:n=4+smc:k=4,sigma=0,resample=q,stop=none")
    assert np.array_equal(smc.last, np.repeat(plain.last, 4, axis=1))
    # Four rows instead of one change the matmuls' blocking and summation order: under MKL's AVX2
    # kernels (MKL_ENABLE_INSTRUCTIONS=AVX2) q moved by up to 9.4e-4 (of ~3.4) after 4 steps.
    np.testing.assert_allclose(smc.last_q, np.repeat(plain.last_q, 4, axis=1), rtol=1e-3, atol=2e-3)


def test_noisy_particles_resample_and_the_reference_stays_plain(model, tokens):
    plain = run(model, tokens, "steps:n=4")
    smc = run(model, tokens, "steps:n=4+smc:k=6,sigma=0.5,resample=q,stop=none,seed=1")
    assert np.array_equal(smc.last[:, 0], plain.last[:, 0]) and (smc.steps[:, 0] == 4).all()
    assert not np.allclose(smc.last_q[:, 1:], smc.last_q[:, :1])
    assert np.array_equal(
        smc.last, run(model, tokens, "steps:n=4+smc:k=6,sigma=0.5,resample=q,stop=none,seed=1").last
    )


def test_early_stop_ends_a_puzzles_particles_together(model, tokens):
    never = run(model, tokens, "steps:n=4+smc:k=4,sigma=0.5,stop=q,conf=1")
    assert (never.steps == 4).all()
    now = run(model, tokens, "steps:n=4+smc:k=4,sigma=0.5,stop=q,conf=0")
    assert (now.steps[:, 1:] == 1).all() and (now.steps[:, 0] == 4).all()  # the reference runs on
    mid = run(model, tokens, "steps:n=4+smc:k=4,sigma=0.5,stop=q,conf=0.5")
    assert (mid.steps[:, 1:] == mid.steps[:, 1:2]).all()  # one stop per puzzle
    assert np.array_equal(mid.calls, mid.steps.sum(1) * model.calls_per_step)


def test_gate_keeps_the_plain_answer_of_confident_puzzles_at_plain_cost(model, tokens):
    plain = run(model, tokens, "steps:n=3")
    p = halt_probability(plain.last_q[:, 0])
    tau = float(np.sort(p)[len(p) // 2])  # half the puzzles are "sure"
    gated = run(model, tokens, f"smc:k=4,sigma=1,gate=q,tau={tau!r},seed=2")
    sure = p >= tau
    assert sure.any() and (~sure).any()
    assert np.array_equal(gated.searched, ~sure)
    plain_calls = plain.calls
    assert np.array_equal(gated.calls[sure], plain_calls[sure])
    assert (gated.calls[~sure] > plain_calls[~sure]).all()
    for how in ("q", "vote", "wvote"):  # a sure puzzle's answer is the plain one, whatever the selection
        pick = gated.choose(how)
        assert np.array_equal(gated.chosen(pick, "last")[sure], plain.last[sure, 0])
    assert np.array_equal(gated.last[:, 0], plain.last[:, 0])
    nothing = run(model, tokens, "smc:k=4,sigma=1,gate=q,tau=0")
    assert not nothing.searched.any() and np.array_equal(nothing.calls, plain_calls)


def test_weighted_vote_counts_halting_probability_not_heads():
    answers = np.array([[[1, 1], [2, 2], [2, 2], [1, 1]]])
    assert select_wvote(answers, np.array([[5.0, -5.0, -5.0, 0.0]]))[0] == 0  # 1.5 > 0.01
    assert select_wvote(answers, np.array([[0.0, 0.0, 0.0, 0.0]]))[0] == 0  # tie: the lower index
    assert select_wvote(answers, np.array([[-5.0, 0.0, 0.0, -5.0]]))[0] == 1


def test_diagnostics_are_in_range(model, tokens):
    cands = run(model, tokens, "smc:k=6,sigma=1,resample=q,stop=none")
    answers, q = cands.answers("last")
    right = np.zeros(q.shape, dtype=bool)
    right[:, 0] = True
    diag = Diagnostics()
    diag.add(answers, q, right)
    out = diag.summary()
    assert 0 <= out["diag_stability"] <= 1 and out["diag_puzzles"] == len(tokens)
    assert 0 <= out["diag_entropy"] <= math.log(6) + 1e-9 and 0 <= out["diag_entropy_normalized"] <= 1
    assert 0 <= out["diag_alignment"] <= 1
    la = out["diag_alignment_label_free"]
    assert math.isnan(la) or 0 <= la <= 1
    assert auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    assert auroc(np.array([1.0, 1.0]), np.array([0, 1])) == 0.5 and math.isnan(auroc(np.ones(3), np.ones(3)))
    same = np.zeros((1, 4, 3), dtype=np.int64)
    assert cell_entropy(same)[0] == 0.0
    spread = np.arange(12).reshape(1, 4, 3)
    assert math.isclose(cell_entropy(spread)[0], math.log(4))


def test_agreement_gate_searches_only_where_a_noisy_probe_disagrees(model, tokens):
    plain = run(model, tokens, "steps:n=3")
    gated = run(model, tokens, "smc:k=5,sigma=0.3,gate=agree,seed=4")
    assert np.array_equal(gated.last[:, 0], plain.last[:, 0])
    probe_differs = (gated.last[:, 1] != gated.last[:, 0]).any(axis=1)
    assert np.array_equal(gated.searched, probe_differs)
    sure = ~gated.searched
    assert np.array_equal(gated.calls[sure], 2 * plain.calls[sure])  # the plain pass and the probe
    assert (gated.calls[~sure] > 2 * plain.calls[~sure]).all()
    for how in ("q", "vote", "wvote"):
        pick = gated.choose(how)
        assert np.array_equal(gated.chosen(pick, "last")[sure], plain.last[sure, 0])
    with pytest.raises(TTCSpecError, match="needs k >= 2"):
        parse_spec("smc:k=1,gate=agree")


def test_waves_stop_a_puzzles_search_once_a_candidate_is_sure(model):
    k, wave, tau = 7, 2, 0.9
    tokens = sudoku_tokens(8)
    every = run(model, tokens, f"smc:k={k},sigma=1,gate=q,tau=1,wave={wave},seed=5")
    assert (every.steps > 0).all()  # nothing reaches p_halt >= 1: every wave runs on every puzzle
    gated = run(model, tokens, f"smc:k={k},sigma=1,gate=q,tau={tau},wave={wave},seed=5")
    assert np.array_equal(gated.searched, halt_probability(gated.last_q[:, 0]) < tau)
    ran = gated.steps > 0
    assert ran[:, 0].all() and not ran[~gated.searched, 1:].any()
    assert ran[gated.searched, 1 : 1 + wave].all()  # the first wave runs on every searched puzzle
    stopped = continued = 0
    for i in np.flatnonzero(gated.searched):
        for lo in range(1 + wave, k, wave):  # a wave ran iff no earlier searched candidate was sure
            sure = bool((halt_probability(gated.last_q[i, 1:lo]) >= tau).any())
            assert ran[i, lo : lo + wave].all() == (not sure) and ran[i, lo : lo + wave].any() == (not sure)
            stopped, continued = stopped + sure, continued + (not sure)
    assert stopped and continued  # both happen with this tau
    assert np.array_equal(gated.calls, gated.steps.sum(1) * model.calls_per_step)
    assert gated.calls.sum() < every.calls.sum()
    with pytest.raises(TTCSpecError, match="wave=W needs a gate"):
        parse_spec("smc:k=4,wave=2")
