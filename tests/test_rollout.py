"""The rollout engine over a NumPy stepper whose answers we construct, and the step-model protocol.

The toy stepper needs no torch: its state is the steps each slot has taken on its row; it answers
``inputs + steps`` and its halting signal turns positive once a row has taken ``inputs[:, 0]`` steps.
"""

from __future__ import annotations

import numpy as np
import pytest

from trm.rollout import StepModel, StepRecord, rollout, rollout_steps


class Toy:
    """A Stepper over NumPy arrays; records what it was asked to do."""

    def __init__(self) -> None:
        self.resets: list[np.ndarray] = []  # the reset mask of every call
        self.batch_sizes: list[int] = []

    def start(self, table):
        return np.zeros(len(table["inputs"]), dtype=np.int64)

    def step(self, state, table, reset):
        self.resets.append(np.asarray(reset).copy())
        self.batch_sizes.append(len(state))
        state = np.where(reset, 0, state) + 1  # a reset slot starts its row
        logits = np.eye(16)[np.minimum(table["inputs"] + state[:, None], 15)]  # [S, L, 16]
        signal = np.where(state >= table["inputs"][:, 0], 1.0, -1.0).astype(np.float32)
        return state, logits, signal

    def preload(self, state, table, slots):
        return np.where(slots, 0, state)

    def select(self, state, keep):
        return state[keep]

    def to_device(self, x):
        return np.asarray(x)

    def to_host(self, x):
        return np.asarray(x)

    def argmax(self, logits):
        return logits.argmax(-1)

    def write(self, x, index, values):
        out = x.copy()
        out[index] = values
        return out


def rows(first_tokens, length: int = 3):
    inputs = np.tile(np.asarray(first_tokens)[:, None], (1, length))
    return {"inputs": inputs, "labels": inputs.copy()}


def chunks(table, size):
    n = len(table["inputs"])
    return [{k: v[i : i + size] for k, v in table.items()} for i in range(0, n, size)]


def test_every_row_runs_all_steps_in_lockstep_and_keeps_its_puzzle():
    toy = Toy()
    events = list(rollout(toy, [rows([1, 2, 3])], steps=5))
    assert len(events) == 5  # more steps than any N_sup: the rows are never reloaded
    assert toy.resets[0].all() and not np.concatenate(toy.resets[1:]).any()
    assert [e.steps.tolist() for e in events] == [[k] * 3 for k in range(1, 6)]
    assert events[-1].done.all() and not any(e.done.any() for e in events[:-1])


def test_early_exit_with_continuous_batching_loads_each_row_once():
    toy = Toy()
    firsts = [3, 1, 2, 9, 1, 4, 2]  # a row halts after inputs[0] steps (or at the limit, 5)
    done: dict[int, int] = {}
    pad = {"inputs": 0, "labels": -100}
    events = rollout(
        toy, chunks(rows(firsts), 3), steps=5, slots=2, exit_on_halt=True, compact=False, pad=pad
    )
    for ev in events:
        for slot in np.flatnonzero(ev.done):
            assert ev.rows[slot] not in done
            done[int(ev.rows[slot])] = int(ev.steps[slot])
    assert done == {r: min(f, 5) for r, f in enumerate(firsts)}
    assert set(toy.batch_sizes) == {2}  # fixed shapes: a slot with nothing left idles
    assert sum(int(r.sum()) for r in toy.resets) >= len(firsts)


def test_compaction_drops_finished_rows():
    toy = Toy()
    events = list(rollout(toy, [rows([1, 3, 2, 3])], steps=4, exit_on_halt=True))
    assert toy.batch_sizes == [4, 3, 2]  # rows stop after 1, 2, 3 steps and leave the batch
    finished = {int(r): int(s) for e in events for r, s in zip(e.rows[e.done], e.steps[e.done], strict=True)}
    assert finished == {0: 1, 1: 3, 2: 2, 3: 3}


def test_a_perturbation_hook_sees_every_step_and_the_rows_are_loaded_first():
    toy = Toy()
    seen = []

    def perturb(state, row_of):
        seen.append(row_of.copy())
        return state

    list(rollout(toy, [rows([5, 5])], steps=3, perturb=perturb))
    assert len(seen) == 3 and not np.concatenate(toy.resets).any()  # loaded before step 1, then continued


def test_step_record_keeps_last_best_and_every_step():
    toy = Toy()
    record = StepRecord(toy, 3, 3, keep_every=True)
    for ev in rollout(toy, [rows([1, 2, 9])], steps=4, exit_on_halt=True):
        record.update(ev)
    out = record.result(4)
    assert out.steps.tolist() == [1, 2, 4]
    assert out.every.shape == (4, 3, 3) and (out.every[-1] == out.last).all()
    assert out.last[:, 0].tolist() == [2, 4, 13]  # inputs + steps taken
    assert out.best_step.tolist() == [1, 2, 4]  # ties go to the later step


def test_rollout_steps():
    assert rollout_steps(None, 16) == 16 and rollout_steps(3, 16) == 3
    with pytest.raises(ValueError, match="positive"):
        rollout_steps(-1, 16)


@pytest.mark.parametrize("arch", ["trm", "hrm", "direct"])
def test_the_models_implement_the_step_model_protocol(arch):
    from trm.config import ModelConfig
    from trm.models import build_model

    extra = {"halt_max_steps": 1} if arch == "direct" else {"H_cycles": 2, "L_cycles": 3}
    config = ModelConfig(
        arch=arch, hidden_size=16, num_heads=2, mixer="attention", num_layers=1, l_layers=1, h_layers=1,
        vocab_size=5, seq_len=4, num_puzzle_identifiers=1, **extra,
    )  # fmt: skip
    model = build_model(config)
    assert isinstance(model, StepModel)
    assert model.n_sup == config.halt_max_steps
    assert model.calls_per_step == (1 if arch == "direct" else 2 * (3 + 1))
