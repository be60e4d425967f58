"""Voting over K of each ARC task's augmented variants instead of all of them: ARC checkpoints on a laptop.

The papers vote over every variant (1 + 1,000 per task at evaluation); on a CPU that is hours per task
for an ARC-size model. ``trm arc evaluate --variants K`` predicts K variants per task and votes over
those alone. Design choices:

- The identity variant (variant 0 of every task: the task as published) is always among the K; the
  other K - 1 are drawn without replacement from the rest, by a generator seeded with (``seed``, the
  task's position in the dataset), so a task's subset does not depend on which other tasks are there
  and the same ``--variants K --seed S`` always votes over the same variants.
- Prediction runs on a subset split (the chosen variants' examples, in stored order) and the votes
  are cast with the full split's example indices, so voting, ranking and scoring are the full
  evaluation's code, unchanged. K at least the number of variants is the full evaluation.
- The batch is no larger than the examples to predict (the evaluation pads its last batch to full
  size, which for one task at K=1 would predict 63 padding rows with a batch of 64).
- Fewer variants mean fewer votes: the published K=1 vs K=1000 accuracies are in docs/pretrained.md.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from trm.data.format import Split


def chosen_puzzles(split: Split, k: int, seed: int = 0) -> np.ndarray:
    """The puzzles (variants) voted on: K per task, in stored order (see the module docstring)."""
    if k <= 0:
        raise ValueError(f"--variants must be positive, got {k}")
    groups, puzzles = split.group_indices, []
    for g in range(split.num_groups):
        lo, hi = int(groups[g]), int(groups[g + 1])
        if hi - lo <= k:
            puzzles.extend(range(lo, hi))
            continue
        rng = np.random.default_rng((seed, g))
        others = rng.choice(np.arange(lo + 1, hi), size=k - 1, replace=False)
        puzzles.extend([lo, *sorted(int(p) for p in others)])
    return np.asarray(puzzles, dtype=np.int64)  # [P']


def variant_subset(split: Split, k: int, seed: int = 0) -> tuple[Split, np.ndarray]:
    """(a split of K variants per task, the full split's index of each of its examples)."""
    groups, chosen = split.group_indices, chosen_puzzles(split, k, seed)
    per = np.diff(split.puzzle_indices)[chosen]  # examples of each chosen puzzle
    examples = np.concatenate(
        [np.arange(split.puzzle_indices[p], split.puzzle_indices[p + 1]) for p in chosen]
    )
    counts = np.searchsorted(chosen, groups[1:], side="left")  # puzzles of the subset before each group end
    sub = replace(
        split,
        inputs=np.asarray(split.inputs[examples]),
        labels=np.asarray(split.labels[examples]),
        puzzle_identifiers=np.asarray(split.puzzle_identifiers[chosen]),
        puzzle_indices=np.concatenate([[0], np.cumsum(per)]).astype(np.int64),
        group_indices=np.concatenate([[0], counts]).astype(np.int64),
    )
    return sub, examples.astype(np.int64)


def predict_and_vote_variants(
    model: Any,
    root: str | Path,
    *,
    variants: int | None,
    seed: int = 0,
    batch_size: int,
    dtype: Any = "auto",
    halt_max_steps: int | None = None,
    submission_path: str | Path | None = None,
    pooled: Any = None,
    progress: bool = False,
) -> tuple[Any, Any]:
    """``predict_and_vote`` over ``variants`` variants per task (None: all), with the time it took:
    the metrics gain ``arc/variants_per_task`` (the largest K used), ``arc/seconds_per_task``."""
    from trm.data.arc.voting import vote_on_dataset
    from trm.data.format import open_split
    from trm.evaluation.evaluate import evaluate

    split = open_split(root, "test")
    sub, examples = (
        (split, np.arange(split.num_examples)) if variants is None else variant_subset(split, variants, seed)
    )
    start = time.perf_counter()
    batch = min(batch_size, sub.num_examples)  # the last batch is padded to full size: no larger
    result = evaluate(
        model, sub, batch_size=batch, device=next(model.parameters()).device, dtype=dtype,
        halt_max_steps=halt_max_steps, return_predictions=True, progress=progress,
    )  # fmt: skip
    arc = vote_on_dataset(
        root, result.predictions, result.q_halt, indices=examples[result.indices],
        submission_path=submission_path, pooled=pooled,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    arc.metrics["arc/variants_per_task"] = float(np.diff(sub.group_indices).max())
    arc.metrics["arc/seconds_per_task"] = seconds / max(split.num_groups, 1)
    return result, arc
