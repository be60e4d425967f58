"""The one scorer: which cells count, what "exactly right" means, and how examples are averaged.

Used by the training metrics (``trm.training.losses``), evaluation (``trm.evaluation``), test-time
compute and the LLM harness (``trm.llm.scoring``), on torch tensors or NumPy arrays alike (the same
expressions run on both; no torch import here).

Design choices:

- **What counts.** A cell is scored when its label is not ``IGNORE_LABEL`` (-100; the loader turns a
  dataset's ``ignore_label_id`` into it, padding rows hold it everywhere). This module is the only
  place that defines the value.
- **Per example.** *Exact* when it has at least one scored cell and every scored cell is right; *token
  accuracy* is the fraction of its scored cells that are right (0 when it has none).
- **Rows with no scored cell are left out of every average** (neither right nor wrong): the rule of the
  reference TRM code, whose metrics count only ``halted & (loss_counts > 0)``. So accuracies are means
  over the examples with :func:`scored_rows`; :func:`mean_over_scored` takes that mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np

IGNORE_LABEL = -100  # label value skipped by the losses and the metrics


def scored_cells(labels: Any) -> Any:
    """labels [..., L] -> bool [..., L]: the cells that are scored."""
    return labels != IGNORE_LABEL


def scored_rows(labels: Any) -> Any:
    """labels [..., L] -> bool [...]: the examples with at least one scored cell."""
    return scored_cells(labels).sum(-1) > 0


def score_predictions(preds: Any, labels: Any) -> tuple[Any, Any]:
    """preds, labels [..., L] (torch or NumPy) -> (exact [...] bool, token accuracy [...] float).

    The float is float32 for torch tensors (true division of integer counts) and float64 for NumPy."""
    scored = scored_cells(labels)
    n_scored = scored.sum(-1)
    n_right = ((preds == labels) & scored).sum(-1)
    exact = (n_right == n_scored) & (n_scored > 0)
    token = n_right / (n_scored + (n_scored == 0))  # a row with nothing scored: 0 / 1
    return exact, token


def mean_over_scored(values: Any, scored: Any) -> float:
    """The mean of per-example ``values`` [E] over the examples with ``scored`` [E] True (NaN if none)."""
    values, scored = np.asarray(values), np.asarray(scored, dtype=bool)
    if values.shape != scored.shape:
        raise ValueError(f"values {values.shape} and scored {scored.shape} must have the same shape")
    if not scored.any():
        return float("nan")
    return float(values[scored].mean()) if not scored.all() else float(values.mean())
