"""Symmetries of a puzzle in token space, for augmentation at test time, with their exact inverses.

A symmetry is a pair (``perm`` [L], ``tmap`` [V]): the augmented token row is ``tmap[row[perm]]`` (new
position i holds old position ``perm[i]``, each token relabelled by ``tmap``). Its inverse is again such a
pair, so a model's prediction on an augmented copy maps back to the original frame exactly, whatever
tokens it holds (``tmap`` is a permutation of all V tokens).

Design choices:

- **The task draws its symmetries** (``Task.symmetries``, in its folder): Sudoku draws what its training
  augmentation draws (:func:`trm.data.sudoku.augment.token_symmetries`: digits relabelled, transpose when the
  boxes are square, bands and rows, stacks and columns permuted); Maze takes the dihedral transforms of
  :mod:`trm.data.dihedral` (copy c takes transform c, so k <= 8 copies are distinct); ARC has none (its test
  splits already hold the augmented variants, each with its own puzzle identifier, and are voted); a task
  without symmetries raises :class:`AugmentError`. This module only asks, and applies and inverts.
- Copy 0 of every puzzle is the identity, so the plain pass is always among the candidates.
- Vectorised: ``apply``/``invert`` are two gathers over [R, L] rows, no Python loop over copies.
"""

from __future__ import annotations

import numpy as np

from trm.data.augment import AugmentError
from trm.data.tasks import Task, find_task

__all__ = ["AugmentError", "apply", "draw_symmetries", "invert"]


def draw_symmetries(
    task: str | Task,
    grid_shape: tuple[int, int],
    vocab: int,
    puzzles: int,
    count: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` symmetries for each of ``puzzles`` puzzles of ``task`` (a task or a registered name):
    perm [puzzles*count, L], tmap [puzzles*count, V], puzzle-major (row p*count + c is copy c of puzzle p;
    copy 0 the identity). Raises :class:`AugmentError` for a task without symmetries."""
    if isinstance(task, str):
        name, task = task, find_task(task)
        if task is None:
            raise AugmentError(f"test-time augmentation is not defined for task {name!r} (no such task)")
    parts = [task.symmetries(rng, count, tuple(grid_shape), vocab) for _ in range(puzzles)]
    return np.concatenate([p for p, _ in parts]), np.concatenate([t for _, t in parts])


def invert(perm: np.ndarray, tmap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inverse symmetries of perm [R, L], tmap [R, V]."""
    return np.argsort(perm, axis=1), np.argsort(tmap, axis=1)


def apply(tokens: np.ndarray, perm: np.ndarray, tmap: np.ndarray) -> np.ndarray:
    """Token rows [R, L] -> ``tmap[row[perm]]`` per row [R, L]."""
    moved = np.take_along_axis(np.asarray(tokens), perm, axis=1)
    return np.take_along_axis(tmap, moved.astype(np.int64), axis=1).astype(np.asarray(tokens).dtype)
