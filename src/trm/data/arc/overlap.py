"""The ARC leak check: training tasks that hold the answer to an evaluation task's test input.

A training task with a pair whose input is a test input of an evaluation task holds that task's answer.
ARC-AGI-2's training set holds 376 of ARC-AGI-1's 400 evaluation tasks, so such a build is refused with
an explanation; ``auto`` drops a few duplicates and refuses a wholesale overlap (``build.py`` says how
the builder applies the policies).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trm.data.arc.tasks_io import ArcTaskData
from trm.errors import InputError

OVERLAP_POLICIES = ("auto", "refuse", "drop", "allow")
AUTO_DROP_FRACTION = 0.05


class OverlapError(InputError):
    """Training data contains the answer to an evaluation test input."""


def _grid_key(g: np.ndarray) -> bytes:
    return np.array(g.shape, dtype=np.int16).tobytes() + np.ascontiguousarray(g).tobytes()


def find_overlap(
    train_tasks: Sequence[ArcTaskData], eval_tasks: Sequence[ArcTaskData]
) -> list[tuple[str, str]]:
    """(training task, evaluation task) pairs where a training pair's input is an evaluation test input."""
    test_inputs = {_grid_key(g): t.name for t in eval_tasks for g in t.test_inputs}
    found = []
    for t in train_tasks:
        grids = t.train_inputs + t.test_inputs
        hit = next((test_inputs[k] for k in map(_grid_key, grids) if k in test_inputs), None)
        if hit is not None:
            found.append((t.name, hit))
    return found


def overlap_message(
    found: list[tuple[str, str]], train_sources: Sequence[str], eval_sources: Sequence[str]
) -> str:
    sample = ", ".join(f"{a} = {b}" if a == b else f"{a} ~ {b}" for a, b in found[:5])
    why = ""
    if any(s.startswith("arc2/training") for s in train_sources) and any(
        s.startswith("arc1/evaluation") for s in eval_sources
    ):
        why = (
            " ARC-AGI-2's training set contains most of ARC-AGI-1's evaluation tasks WITH their test "
            "outputs, so training on it and scoring on ARC-AGI-1 evaluation measures memory, not reasoning."
        )
    return (
        f"refusing to build: {len(found)} training task(s) contain a test input of an evaluation task "
        f"({sample}{', ...' if len(found) > 5 else ''}).{why} Choose sources that do not overlap, or pass "
        "overlap='drop' (--overlap drop) to leave those training tasks out."
    )


def resolve_overlap(found: list[tuple[str, str]], num_eval: int, policy: str) -> set[str]:
    """Training task names to leave out, or raise. ``auto`` drops a few duplicates (ARC-AGI-1's training task
    40853293 holds every pair of evaluation task 070dd51e) and refuses a wholesale overlap (>= 5%)."""
    if policy not in OVERLAP_POLICIES:
        raise InputError(f"overlap policy must be one of {OVERLAP_POLICIES}, got {policy!r}")
    if not found or policy == "allow":
        return set()
    hit_eval = {b for _, b in found}
    if policy == "refuse" or (policy == "auto" and len(hit_eval) >= max(1, AUTO_DROP_FRACTION * num_eval)):
        raise OverlapError("")
    return {a for a, _ in found}
