"""Running candidates: trajectory 0 is the plain pass, noise is seeded, calls are counted exactly,
augmented answers come back in the puzzle's frame, early exit stops rows, chunking changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from trm.config import RunConfig
from trm.data.format import DatasetMetadata
from trm.inference.solver import Solver
from trm.inference.ttc import TTCRunner, parse_spec
from trm.models.carry import Carry, StepOutput
from ttc_helpers import sudoku_tokens, tiny_model

N_SUP = 3
META = DatasetMetadata(task="sudoku", vocab_size=8, seq_len=36, grid_shape=(6, 6), num_puzzle_identifiers=1)


@pytest.fixture(scope="module")
def model():
    return tiny_model(N_SUP)


@pytest.fixture(scope="module")
def tokens():
    return sudoku_tokens()


def engine(model, spec: str, **kw) -> TTCRunner:
    return TTCRunner(
        model, parse_spec(spec), task="sudoku", grid_shape=(6, 6), vocab_size=8,
        device=torch.device("cpu"), dtype=torch.float32, **kw,
    )  # fmt: skip


def test_trajectory_zero_is_the_plain_pass_and_noise_moves_the_others(model, tokens):
    solver = Solver(model, RunConfig(), META, dtype=torch.float32)
    plain, plain_q = solver._run(tokens, 5, 0)  # [5, P, L], [5, P], more steps than N_sup
    cands = engine(model, "steps:n=5+noise:k=4,sigma=0.5,on=zy").run(tokens, np.zeros(4), record_steps=True)
    assert cands.every.shape == (5, 4, 4, 36)
    assert np.array_equal(cands.every[:, :, 0], plain)
    np.testing.assert_allclose(cands.every_q[:, :, 0], plain_q, rtol=1e-5, atol=1e-6)
    assert np.array_equal(cands.last[:, 0], plain[-1])
    assert not np.allclose(cands.every_q[:, :, 1:], cands.every_q[:, :, :1])  # noisy trajectories differ
    best = cands.every_q.argmax(0)  # the best step is where q is highest
    np.testing.assert_allclose(cands.best_q, cands.every_q.max(0), rtol=1e-6)
    assert np.array_equal(cands.best_step - 1, best) or np.all(
        np.take_along_axis(cands.every_q, (cands.best_step - 1)[None], 0)[0] == cands.every_q.max(0)
    )


def test_seeded_runs_reproduce_and_seeds_differ(model, tokens):
    spec = "augment:k=2+noise:k=3,sigma=0.3,seed=7"
    a = engine(model, spec).run(tokens, np.zeros(4))
    b = engine(model, spec).run(tokens, np.zeros(4))
    c = engine(model, spec.replace("seed=7", "seed=8")).run(tokens, np.zeros(4))
    assert np.array_equal(a.best, b.best) and np.array_equal(a.best_q, b.best_q)
    assert not np.array_equal(a.best_q, c.best_q)


def test_chunking_does_not_change_the_candidates(model, tokens):
    whole = engine(model, "augment:k=4,seed=1").run(tokens, np.zeros(4))
    chunked = engine(model, "augment:k=4,seed=1", max_rows=3).run(tokens, np.zeros(4))
    assert np.array_equal(whole.last, chunked.last)
    np.testing.assert_allclose(whole.last_q, chunked.last_q, rtol=1e-5, atol=1e-6)


class CountingHook:
    def __init__(self, model: nn.Module) -> None:
        self.rows = 0
        nets = {id(m): m for m in (model.net, getattr(model, "net_y", None)) if m is not None}
        self.handles = [m.register_forward_hook(self) for m in nets.values()]

    def __call__(self, module, args, output) -> None:
        self.rows += args[0].shape[0]  # one network call per row

    def close(self) -> None:
        for h in self.handles:
            h.remove()


@pytest.mark.parametrize(
    "spec", ["noise:k=4,sigma=0.2", "augment:k=3+noise:k=2", "steps:n=6,exit=q+noise:k=5"]
)
def test_calls_are_counted_exactly(model, tokens, spec):
    hook = CountingHook(model)
    try:
        cands = engine(model, spec, max_rows=7).run(tokens, np.zeros(4))
    finally:
        hook.close()
    s = parse_spec(spec)
    assert cands.calls.sum() == hook.rows
    assert model.schedule.calls_per_step == 2 * (1 + 1)  # T(n+1)
    if not s.early_exit:
        assert (cands.calls == s.candidates * N_SUP * model.schedule.calls_per_step).all()


def test_early_exit_stops_at_the_first_positive_signal(model, tokens):
    full = engine(model, "steps:n=6+noise:k=5,sigma=0.5").run(tokens, np.zeros(4), record_steps=True)
    early = engine(model, "steps:n=6,exit=q+noise:k=5,sigma=0.5").run(tokens, np.zeros(4), record_steps=True)

    def first_positive(q):  # [N, P, K] -> [P, K] 1-based, N when never
        fired = q > 0
        return np.where(fired.any(0), fired.argmax(0) + 1, q.shape[0])

    assert np.array_equal(early.steps, first_positive(early.every_q))
    assert (early.steps < 6).any() and (early.calls < full.calls).all()
    # the noise-free trajectory is the plain pass, so it stops where the full run first fires
    assert np.array_equal(early.steps[:, 0], first_positive(full.every_q)[:, 0])
    stop = early.steps[:, 0] - 1
    assert np.array_equal(early.last[:, 0], full.every[stop, np.arange(4), 0])


class CopyModel(nn.Module):
    """Answers with its input and halts with a signal equal to the input's first token (no state)."""

    def __init__(self) -> None:
        super().__init__()
        self.n_sup, self.calls_per_step, self.prefix_len, self.puzzle_emb = 2, 1, 0, None  # StepModel
        self.w = nn.Parameter(torch.zeros(1))

    def initial_carry(self, batch):
        b = batch["inputs"].shape[0]
        state = torch.zeros(b, 1, 1)
        return Carry(
            state, state, torch.zeros(b, dtype=torch.int32), torch.ones(b, dtype=torch.bool), dict(batch)
        )

    def forward(self, carry, batch):
        logits = nn.functional.one_hot(batch["inputs"].long(), 8).float()
        out = StepOutput(logits=logits, q_halt=batch["inputs"][:, 0].float())
        return Carry(carry.y, carry.z, carry.steps + 1, carry.halted, dict(batch)), out


def test_augmented_answers_come_back_in_the_puzzles_frame(tokens):
    cands = engine(CopyModel(), "augment:k=6,select=vote").run(tokens, np.zeros(4))
    assert cands.best.shape == (4, 6, 36)
    assert (cands.best == tokens[:, None]).all() and (cands.last == tokens[:, None]).all()
    assert len({float(x) for x in cands.best_q.reshape(-1)}) > 1  # the copies the model saw differ


def test_maze_copies_come_back_in_the_mazes_frame(rng):
    mazes = rng.integers(1, 6, size=(3, 25))
    runner = TTCRunner(
        CopyModel(), parse_spec("augment:k=8"), task="maze", grid_shape=(5, 5), vocab_size=6,
        device=torch.device("cpu"), dtype=torch.float32,
    )  # fmt: skip
    cands = runner.run(mazes, np.zeros(3))
    assert (cands.last == mazes[:, None]).all() and cands.last.shape == (3, 8, 25)


def test_noise_until_u_perturbs_the_first_u_steps_only(model, tokens):
    def run(spec):
        return engine(model, spec).run(tokens, np.zeros(4), record_steps=True)

    always = run("steps:n=5+noise:k=3,sigma=0.5,seed=3")
    assert parse_spec("noise:k=3,until=2").until == 2 and parse_spec("smc:k=3,until=4").until == 4
    # the same draws (they are taken and scaled to zero past U), so U >= N is noise before every step
    same = run("steps:n=5+noise:k=3,sigma=0.5,until=5,seed=3")
    assert np.array_equal(same.every, always.every) and np.array_equal(same.every_q, always.every_q)
    early = run("steps:n=5+noise:k=3,sigma=0.5,until=2,seed=3")
    assert np.array_equal(early.every[:2], always.every[:2]) and np.array_equal(
        early.every_q[:2], always.every_q[:2]
    )
    assert np.array_equal(early.every_q[:, :, 0], always.every_q[:, :, 0])  # trajectory 0 stays plain
    assert not np.allclose(early.every_q[2:, :, 1:], always.every_q[2:, :, 1:])  # no noise before step 3 on
