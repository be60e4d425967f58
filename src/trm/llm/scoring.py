"""Score LLM answers with exactly the metrics ``trm eval`` reports, under the same names.

Design choices:

- **Same functions, same inputs.** An answer grid is encoded by the task's codec into the token row a
  model would have predicted; the rows go through :func:`trm.scoring.score_predictions` (labels from
  :func:`trm.data.loader.make_batch`, so unscored cells are ignored exactly as in evaluation; examples
  with no scored cell are left out of the means, as everywhere)
  and the codec's ``metrics(inputs, preds, labels)`` on the split's stored tokens, averaged by
  :func:`trm.evaluation.metrics.task_metric_means`. So ``exact_accuracy``, ``token_accuracy`` and e.g.
  ``valid_solution`` / ``valid_shortest_path`` mean what they mean in a ``trm eval`` report.
- **No answer is a wrong answer.** An unparseable reply, a failed request, or a grid the codec rejects
  becomes a row of PAD tokens: PAD is never a label, so it scores 0 on every cell and fails every rule.
"""

from __future__ import annotations

import numpy as np
import torch

from trm.data.format import Split
from trm.data.loader import make_batch
from trm.data.tasks import Task
from trm.evaluation.metrics import task_metric_means
from trm.scoring import score_predictions, scored_rows


def answer_tokens(task: Task, split: Split, grid: np.ndarray | None) -> np.ndarray:
    """An answer grid (or None) -> the token row [L] a model predicting it would have produced."""
    meta = split.metadata
    if grid is not None:
        try:
            return np.asarray(task.encode(grid, tuple(meta.grid_shape)), dtype=np.int64).reshape(meta.seq_len)
        except ValueError:  # e.g. values the codec does not accept: scored as no answer
            pass
    return np.full(meta.seq_len, meta.pad_id, dtype=np.int64)


def score_rows(
    task: Task, split: Split, indices: np.ndarray, preds: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Example indices [E] and predicted tokens [E, L] -> (per-example scores, their means).

    Per-example: ``exact`` bool, ``token_accuracy`` float and the task's metrics; means: ``exact_accuracy``,
    ``token_accuracy`` and the task's metrics, as in ``trm eval``.
    """
    indices = np.asarray(indices, dtype=np.int64)
    preds = np.asarray(preds, dtype=np.int64)
    e = len(indices)
    if preds.shape != (e, split.metadata.seq_len):
        raise ValueError(f"predictions {preds.shape}, expected ({e}, {split.metadata.seq_len})")
    if e == 0:
        return {}, {}
    labels = make_batch(split, indices)["labels"]  # [E, L], trm.scoring.IGNORE_LABEL = not scored
    exact, token = score_predictions(torch.from_numpy(preds), labels)
    per_example: dict[str, np.ndarray] = {"exact": exact.numpy(), "token_accuracy": token.numpy()}
    scored = scored_rows(labels)  # [E] the only examples averaged (trm.scoring)
    means = {
        "exact_accuracy": float(exact[scored].float().mean()),
        "token_accuracy": float(token[scored].mean()),
    }
    inputs = np.asarray(split.inputs[indices])
    raw_labels = np.asarray(split.labels[indices])
    task_scores = task.metrics(inputs, preds.astype(inputs.dtype), raw_labels)
    for name, value in task_metric_means(task_scores, e).items():
        if name in means:
            raise ValueError(f"task {task.name!r} metric {name!r} clashes with a built-in metric")
        means[name] = value
        per_example[name] = np.asarray(task_scores[name])
    return per_example, means
