"""One scoring rule everywhere: an example with no scored cell is neither right nor wrong (left out).

Checked in the scorer itself (torch and NumPy), the training metrics, evaluation, test-time compute's
scoring and the LLM harness.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from test_evaluation import COLS, ROWS, VOCAB, L, StandIn
from trm.data.format import DatasetMetadata, open_split, write_split
from trm.scoring import IGNORE_LABEL, mean_over_scored, score_predictions, scored_rows

PREDS = np.array([[1, 2, 3], [1, 0, 3], [4, 4, 4]])
LABELS = np.array([[1, 2, IGNORE_LABEL], [1, 2, 3], [IGNORE_LABEL] * 3])  # row 2: nothing scored


def test_the_scorer_gives_the_same_answer_on_torch_and_numpy():
    exact_np, token_np = score_predictions(PREDS, LABELS)
    exact_t, token_t = score_predictions(torch.from_numpy(PREDS), torch.from_numpy(LABELS))
    assert exact_np.tolist() == exact_t.tolist() == [True, False, False]
    assert token_np == pytest.approx([1.0, 2 / 3, 0.0]) and token_t.tolist() == pytest.approx(token_np)
    assert token_t.dtype == torch.float32 and token_np.dtype == np.float64
    assert scored_rows(LABELS).tolist() == [True, True, False]
    assert mean_over_scored(exact_np, scored_rows(LABELS)) == 0.5  # row 2 is not in the mean


def test_training_metrics_leave_unscored_rows_out():
    from trm.training.losses import STAT_NAMES, deep_supervision_loss

    logits = torch.nn.functional.one_hot(torch.from_numpy(PREDS), 5).float()
    _, stats = deep_supervision_loss(
        logits, torch.from_numpy(LABELS), torch.zeros(3), halted=torch.ones(3, dtype=torch.bool),
        steps=torch.ones(3, dtype=torch.int32), global_batch_size=3,
    )  # fmt: skip
    s = dict(zip(STAT_NAMES, stats.tolist(), strict=True))
    assert s["all_count"] == 2 and s["all_exact"] == 1 and s["halted_count"] == 2


@pytest.fixture
def split_with_an_unscored_row(tmp_path):
    rng = np.random.default_rng(0)
    inputs = rng.integers(1, VOCAB, size=(6, L))
    labels = rng.integers(1, VOCAB, size=(6, L))
    labels[:, 1] = inputs[:, 1] % (VOCAB - 1) + 1
    labels[4] = 0  # ignore_label_id everywhere: example 4 has nothing to score
    meta = DatasetMetadata(
        task="toy-no-codec", vocab_size=VOCAB, seq_len=L, grid_shape=(ROWS, COLS),
        num_puzzle_identifiers=1, ignore_label_id=0,
    )  # fmt: skip
    write_split(
        tmp_path, "test", inputs=inputs, labels=labels, puzzle_identifiers=np.zeros(6, np.int32),
        puzzle_indices=np.arange(7), group_indices=np.arange(7), metadata=meta,
    )  # fmt: skip
    return open_split(tmp_path, "test")


@pytest.mark.parametrize("early_halt", [False, True])
def test_evaluation_leaves_unscored_examples_out(split_with_an_unscored_row, early_halt):
    from trm.evaluation.evaluate import evaluate

    # Predicts the input before step 2 (cell 1 always wrong), the label from step 2 on.
    res = evaluate(
        StandIn(n_sup=4, solve_at=2), split_with_an_unscored_row, batch_size=4, device="cpu",
        dtype=torch.float32, early_halt=early_halt,
    )  # fmt: skip
    m = res.metrics
    stop = 1 + np.asarray(split_with_an_unscored_row.inputs)[:, 0] % 4  # StandIn's halting step
    right = stop >= 2 if early_halt else np.ones(6, dtype=bool)
    assert m["exact_accuracy"] == pytest.approx(np.delete(right, 4).mean())  # over the 5 scored examples
    assert m["num_examples"] == 6 and any("no scored cell" in note for note in res.notes)
    if not early_halt:
        assert m["exact_accuracy_step_1"] == 0.0 and m["token_accuracy"] == 1.0


def test_the_llm_harness_and_ttc_use_the_same_rule(split_with_an_unscored_row):
    from trm.evaluation.ttc import _exact
    from trm.llm.scoring import score_rows

    split = split_with_an_unscored_row
    labels = np.asarray(split.labels).astype(np.int64)
    task = SimpleNamespace(name="toy", metrics=lambda inputs, preds, labels: {})
    per_example, means = score_rows(task, split, np.arange(6), labels)  # the labels as answers
    assert per_example["exact"].tolist() == [True] * 4 + [False, True]
    assert means["exact_accuracy"] == 1.0 and means["token_accuracy"] == 1.0
    assert _exact(PREDS, LABELS).tolist() == [True, False, False]
