"""Maze augmentation: the 8 symmetries of the square, via :mod:`trm.data.dihedral` (as the TRM paper).

The same transform is applied to question and answer, so a valid (shortest) path stays a valid
(shortest) path of the same length. The label of a transformed maze here is the transformed label of
the original (the reference builder does the same); the dataset builder's ``relabel`` replaces it by
the tie-break run on the transformed maze (:mod:`trm.data.maze.build`).
Variants are not deduplicated: a maze with a symmetry would repeat a variant, which is harmless.
"""

from __future__ import annotations

import numpy as np

from trm.data import dihedral
from trm.data.augment import AugmentError


def transform(t: int, question: np.ndarray, answer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply dihedral transform ``t`` (0..7, 0 = identity) to both grids [side, side]."""
    return dihedral.apply(t, question), dihedral.apply(t, answer)


def undo(t: int, grid: np.ndarray) -> np.ndarray:
    """Map a grid (e.g. a prediction on variant ``t``) back to the original orientation."""
    return dihedral.apply(dihedral.inverse(t), grid)


def variants(question: np.ndarray, answer: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """All 8 transformed (question, answer) pairs, transform 0 (the original) first."""
    return [transform(t, question, answer) for t in range(dihedral.NUM_TRANSFORMS)]


def token_symmetries(count: int, side: int, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """Dihedral transforms 0..count-1 of a side x side maze in token space, for test-time augmentation:
    positions perm [count, side*side] and token map tmap [count, vocab] (the identity: cell codes stay)."""
    if count > dihedral.NUM_TRANSFORMS:
        raise AugmentError(f"a maze has {dihedral.NUM_TRANSFORMS} symmetries; augment:k={count} is too many")
    cells = np.arange(side * side).reshape(side, side)
    perm = np.stack([dihedral.apply(t, cells).reshape(-1) for t in range(count)])
    return perm, np.tile(np.arange(vocab), (count, 1))
