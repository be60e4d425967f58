"""evaluate(): the papers' protocol and early halting, on a stand-in model whose answers we construct.

The stand-in obeys the Carry/StepOutput contract of trm.models: it predicts the question until its
slot has taken ``solve_at`` supervision steps and the label from then on, and its q_halt turns positive
at a step that depends on the example (1 + first input token % 4), so every number is known in advance.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trm.data.format import DatasetMetadata, open_split, write_split
from trm.evaluation.evaluate import EvalResult, evaluate
from trm.evaluation.metrics import first_halt_step, halting_stats, score_predictions
from trm.models.carry import Carry, StepOutput

VOCAB, ROWS, COLS = 8, 2, 3
L = ROWS * COLS


class StandIn(nn.Module):
    """Predicts the input before step ``solve_at`` and the label from it on; q_halt > 0 from step
    ``1 + inputs[:, 0] % 4``. Loads halted slots from the batch and halts at ``n_sup`` like the model."""

    def __init__(self, n_sup: int = 4, solve_at: int = 2, q_learning: bool = False) -> None:
        super().__init__()
        self.config = SimpleNamespace(halt_max_steps=n_sup, vocab_size=VOCAB)
        self.n_sup, self.calls_per_step, self.prefix_len, self.puzzle_emb = n_sup, 1, 0, None  # StepModel
        self.solve_at = solve_at
        self.q_learning = q_learning  # then q_halt is always 1 and q_continue drops below it at the halt step
        self.weight = nn.Parameter(torch.zeros(()))
        self.loaded: list[int] = []  # how many slots each call (re)loaded

    def initial_carry(self, batch):
        b = batch["inputs"].shape[0]
        return Carry(
            y=torch.zeros(b, 1, 1),
            z=torch.zeros(b, 1, 1),
            steps=torch.zeros(b, dtype=torch.int32),
            halted=torch.ones(b, dtype=torch.bool),
            data={k: torch.zeros_like(v) for k, v in batch.items()},
        )

    def forward(self, carry, batch):
        h = carry.halted
        self.loaded.append(int(h.sum()))
        data = {
            k: torch.where(h.view(-1, *([1] * (v.dim() - 1))), v, carry.data[k]) for k, v in batch.items()
        }
        steps = torch.where(h, torch.zeros_like(carry.steps), carry.steps) + 1
        inputs, labels = data["inputs"], data["labels"]
        use_label = (steps >= self.solve_at)[:, None] & (labels != -100)
        logits = F.one_hot(torch.where(use_label, labels, inputs), VOCAB).float()
        q = torch.where(steps >= 1 + inputs[:, 0] % 4, 1.0, -1.0)
        new = Carry(carry.y, carry.z, steps, steps >= self.config.halt_max_steps, data)
        if self.q_learning:
            return new, StepOutput(logits, torch.ones_like(q), q_continue=1.0 - q)
        return new, StepOutput(logits, q)


def halt_step(inputs: np.ndarray) -> np.ndarray:
    return 1 + inputs[:, 0].astype(np.int64) % 4


@pytest.fixture
def split(tmp_path):
    """12 examples; labels differ from inputs in cell 1 (so copying the input is never right)."""
    rng = np.random.default_rng(0)
    e = 12
    inputs = rng.integers(1, VOCAB, size=(e, L))
    labels = rng.integers(1, VOCAB, size=(e, L))
    labels[:, 1] = inputs[:, 1] % (VOCAB - 1) + 1  # != inputs[:, 1]
    labels[:, 5] = 0  # ignore_label_id: never scored
    meta = DatasetMetadata(
        task="toy-no-codec",
        vocab_size=VOCAB,
        seq_len=L,
        grid_shape=(ROWS, COLS),
        num_puzzle_identifiers=1,
        ignore_label_id=0,
    )
    write_split(
        tmp_path,
        "test",
        inputs=inputs,
        labels=labels,
        puzzle_identifiers=np.zeros(e, np.int32),
        puzzle_indices=np.arange(e + 1),
        group_indices=np.arange(e + 1),
        metadata=meta,
    )
    return open_split(tmp_path, "test")


def run(model, split, **kw):
    kw.setdefault("batch_size", 5)  # 12 examples: the last batch has 3 padding rows
    return evaluate(model, split, device="cpu", dtype=torch.float32, **kw)


def test_protocol_scores_every_step(split):
    model = StandIn(n_sup=4, solve_at=2)
    model.train()
    res = run(model, split, return_predictions=True)
    m = res.metrics
    assert m["num_examples"] == 12 and m["halt_max_steps"] == 4
    assert m["exact_accuracy_step_1"] == 0.0  # padding rows (always "right") never count
    assert [m[f"exact_accuracy_step_{k}"] for k in (2, 3, 4)] == [1.0, 1.0, 1.0]
    assert m["exact_accuracy"] == 1.0 and m["token_accuracy"] == 1.0
    assert model.training  # training mode restored
    # Halting statistics as constructed: example i fires from step 1 + inputs[i, 0] % 4 on.
    stop = halt_step(np.asarray(split.inputs))
    for k in range(1, 5):
        assert m[f"halt_rate_step_{k}"] == pytest.approx(np.mean(stop <= k))
    assert m["early_halt_exact_accuracy"] == pytest.approx(np.mean(stop >= 2))
    assert m["early_halt_mean_steps"] == pytest.approx(stop.mean())
    assert m["early_halt_calls_saved"] == pytest.approx(1 - stop.mean() / 4)
    assert m["halt_accuracy"] == 1.0 and m["never_halted"] == 0.0
    labels = np.asarray(split.labels).astype(np.int64)
    scored = labels != 0
    assert np.array_equal(res.predictions[scored], labels[scored])
    assert res.predictions.shape == (12, L) and np.array_equal(res.steps, np.full(12, 4))
    assert np.all(res.q_halt > 0) and np.array_equal(res.indices, np.arange(12))
    assert any("no registered codec" in note for note in res.notes)


def test_token_accuracy_before_solving(split):
    # Never reaches the label: predicts the input, which is wrong in exactly cell 1 of 5 scored cells.
    res = run(StandIn(n_sup=2, solve_at=99), split)
    inputs, labels = np.asarray(split.inputs), np.asarray(split.labels)
    scored = labels != 0
    expected = np.mean(((inputs == labels) & scored).sum(1) / scored.sum(1))
    assert res.metrics["exact_accuracy"] == 0.0
    assert res.metrics["token_accuracy"] == pytest.approx(expected)


def test_labels_equal_inputs_is_right_at_step_one(tmp_path):
    rng = np.random.default_rng(1)
    inputs = rng.integers(1, VOCAB, size=(7, L))
    meta = DatasetMetadata(
        task="toy-no-codec",
        vocab_size=VOCAB,
        seq_len=L,
        grid_shape=(ROWS, COLS),
        num_puzzle_identifiers=1,
        ignore_label_id=None,
    )
    write_split(
        tmp_path,
        "test",
        inputs=inputs,
        labels=inputs,
        puzzle_identifiers=np.zeros(7, np.int32),
        puzzle_indices=np.arange(8),
        group_indices=np.arange(8),
        metadata=meta,
    )
    res = run(StandIn(n_sup=3, solve_at=99), open_split(tmp_path, "test"), batch_size=4)
    assert res.metrics["exact_accuracy_step_1"] == 1.0 and res.metrics["token_accuracy"] == 1.0


def test_more_steps_than_the_models_n_sup_keep_the_puzzle(split):
    model = StandIn(n_sup=2, solve_at=4)
    res = run(model, split, halt_max_steps=6, batch_size=12)
    m = res.metrics
    assert [m[f"exact_accuracy_step_{k}"] for k in range(1, 7)] == [0, 0, 0, 1, 1, 1]
    assert model.loaded == [12, 0, 0, 0, 0, 0]  # loaded once, never reloaded after the model's N_sup


def test_limit_counts_puzzles(split):
    res = run(StandIn(), split, limit=7, return_predictions=True)
    assert res.metrics["num_examples"] == 7 and res.predictions.shape == (7, L)


def test_early_halt_matches_the_estimate_from_the_full_run(split):
    full = run(StandIn(n_sup=4), split, return_predictions=True)
    model = StandIn(n_sup=4)
    fast = run(model, split, early_halt=True, return_predictions=True, batch_size=4)
    stop = halt_step(np.asarray(split.inputs))
    m = fast.metrics
    assert m["exact_accuracy"] == pytest.approx(full.metrics["early_halt_exact_accuracy"])
    assert m["exact_accuracy"] == pytest.approx(np.mean(stop >= 2))
    assert m["mean_steps"] == pytest.approx(stop.mean())
    assert np.array_equal(fast.steps, stop)
    assert m["calls_saved"] == pytest.approx(1 - stop.mean() / 4)
    assert m["halt_accuracy"] == pytest.approx(np.mean(stop >= 2))  # q > 0 at every stop; right iff stop >= 2
    assert "exact_accuracy_step_1" not in m
    # The prediction at the halting step: the label when the example stopped at step >= 2, else the input.
    preds, inputs = fast.predictions, np.asarray(split.inputs)
    assert np.array_equal(preds[stop == 1], inputs[stop == 1].astype(preds.dtype))


def test_early_halt_loads_each_example_once(split):
    model = StandIn(n_sup=4)
    calls = []
    real_forward = model.forward

    def spy(carry, batch):
        calls.append((carry.halted.clone(), batch["inputs"].clone()))
        return real_forward(carry, batch)

    model.forward = spy
    run(model, split, early_halt=True, batch_size=4)
    loaded = [tuple(x.tolist()) for h, b in calls for x in b[h] if x.any()]  # idle slots hold PAD rows
    assert sorted(loaded) == sorted(tuple(r) for r in np.asarray(split.inputs).astype(np.int64).tolist())
    assert calls[0][0].all() and len(calls) <= 4 * 3  # 12 examples, 4 slots, at most 4 steps each


def test_task_metrics_are_merged(split, monkeypatch):
    import trm.data.tasks as tasks

    class Toy:
        def metrics(self, inputs, preds, labels):
            assert inputs.shape == preds.shape == labels.shape == (12, L)
            return {"first_cell_kept": preds[:, 0] == inputs[:, 0]}

    monkeypatch.setattr(tasks, "get_task", lambda name, metadata=None: Toy())
    res = run(StandIn(solve_at=99), split)
    assert res.metrics["first_cell_kept"] == 1.0 and res.notes == []


def test_to_json_round_trips(split):
    res = run(StandIn(), split)
    d = json.loads(res.to_json())
    assert d["metrics"] == pytest.approx(res.metrics) and d["task"] == "toy-no-codec"
    assert isinstance(res, EvalResult) and "predictions" not in d


def test_metric_helpers():
    preds = torch.tensor([[1, 2, 3], [1, 0, 3]])
    labels = torch.tensor([[1, 2, -100], [1, 2, 3]])
    exact, token = score_predictions(preds, labels)
    assert exact.tolist() == [True, False] and token.tolist() == pytest.approx([1.0, 2 / 3])
    q = np.array([[-1, 2, 3], [-1, -1, -1], [1, -1, 1]], dtype=np.float32)
    assert first_halt_step(q).tolist() == [2, 3, 1]
    correct = np.array([[0, 1, 1], [0, 0, 0], [1, 1, 1]], dtype=bool)
    s = halting_stats(correct, q)
    assert s["early_halt_exact_accuracy"] == pytest.approx(2 / 3)
    assert s["never_halted"] == pytest.approx(1 / 3)
    assert s["halt_accuracy"] == 1.0  # final q > 0 exactly on the right ones


def test_q_learning_halting_compares_the_two_logits(split):
    """HRM-style heads halt when q_halt > q_continue; q_halt alone is positive at every step here."""
    stop = halt_step(np.asarray(split.inputs))
    full = run(StandIn(q_learning=True), split)
    assert full.metrics["early_halt_mean_steps"] == pytest.approx(stop.mean())
    assert full.metrics["halt_rate_step_1"] == pytest.approx(np.mean(stop == 1))
    fast = run(StandIn(q_learning=True), split, early_halt=True, return_predictions=True)
    assert np.array_equal(fast.steps, stop)
