"""ARC for an LLM: which test-split examples to ask, the demonstration pairs to show, and pass@1.

Design choices:

- **The original task, once.** An ARC test split holds every augmented variant of every evaluation
  task. An LLM is asked the identity variant only (variant 0 of each task, see
  :mod:`trm.data.arc.augment`): its examples are the task's test inputs as published. ``--limit N``
  takes the first N evaluation tasks.
- **Demonstrations from the source.** The split's training examples are augmented and translated, so the
  prompt's demonstration pairs are read again from the task file the dataset was built from
  (:func:`trm.data.arc.tasks_io.reload_task`, the source recorded in ``arc_tasks.json``).
- **Scores.** Each answer is scored like any other example (``exact_accuracy``, ``token_accuracy`` and
  the codec's ``grid_exact`` / ``valid_grid``); the ARC score is :func:`trm.data.arc.score.aggregate`
  on one attempt per test input (``pass@1``: a task's share of right test inputs, averaged over tasks, as
  ``trm arc evaluate`` reports TRM's ``arc/pass@1``; plus ``pass@1_strict`` and ``test_pass@1``).
- The tool solves with the identity variant's puzzle identifier, the embedding row TRM learned for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trm.data.format import Split

Pair = tuple[np.ndarray, np.ndarray]


@dataclass
class ArcPuzzles:
    """The examples to ask, with each example's task, demonstration pairs and puzzle identifier."""

    indices: list[int]
    task_of: dict[int, str] = field(default_factory=dict)
    identifier_of: dict[int, int] = field(default_factory=dict)
    demos_of_task: dict[str, list[Pair]] = field(default_factory=dict)

    def demos(self, index: int) -> list[Pair]:
        return self.demos_of_task[self.task_of[index]]


def arc_puzzles(split: Split, data: str | Path, limit: int | None) -> ArcPuzzles:
    """The identity variant's test inputs of the first ``limit`` evaluation tasks (all when None)."""
    from trm.data.arc.identifiers import VariantTable
    from trm.data.arc.tasks_io import reload_task

    table = VariantTable.load(data)
    puzzle_of_id = {int(pid): p for p, pid in enumerate(np.asarray(split.puzzle_identifiers))}
    tasks = [t for t in table.tasks if t.role == "eval"]
    if limit is not None:
        tasks = tasks[:limit]
    out = ArcPuzzles(indices=[])
    for info in tasks:
        if info.first not in puzzle_of_id:
            raise ValueError(f"{split.path}: task {info.name}'s identity variant ({info.first}) is not in it")
        try:
            source = reload_task(info.source, info.name)
        except (OSError, KeyError) as e:
            raise ValueError(
                f"task {info.name}: cannot read its demonstration pairs from {info.source} ({e})"
            ) from None
        out.demos_of_task[info.name] = list(zip(source.train_inputs, source.train_outputs, strict=True))
        for index in split.examples_of_puzzle(puzzle_of_id[info.first]):
            out.indices.append(index)
            out.task_of[index] = info.name
            out.identifier_of[index] = info.first
    return out


def arc_pass_at_1(records: list[dict[str, Any]], puzzles: ArcPuzzles) -> dict[str, float]:
    """``pass@1``, ``pass@1_strict``, ``test_pass@1``, ``num_tasks`` of one answer per test input."""
    from trm.data.arc.score import aggregate

    ranks: dict[str, list[int | None]] = {}
    for r in records:
        ranks.setdefault(puzzles.task_of[r["index"]], []).append(0 if r["grid_exact"] else None)
    m = aggregate(ranks, ks=(1,))
    return {k: m[k] for k in ("num_tasks", "pass@1", "pass@1_strict", "test_pass@1")}
