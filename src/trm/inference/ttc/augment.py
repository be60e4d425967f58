"""Symmetries of a puzzle in token space, for augmentation at test time, with their exact inverses.

A symmetry is a pair (``perm`` [L], ``tmap`` [V]): the augmented token row is ``tmap[row[perm]]`` (new
position i holds old position ``perm[i]``, each token relabelled by ``tmap``). Its inverse is again such a
pair, so a model's prediction on an augmented copy maps back to the original frame exactly, whatever
tokens it holds (``tmap`` is a permutation of all V tokens).

Design choices:

- The position part is the task's own grid transform applied to a grid of cell indices, so there is one
  definition of each transform: Maze uses :mod:`trm.data.dihedral` (the 8 transforms of the square;
  copy c takes transform c, so k <= 8 copies are distinct); Sudoku draws what its training augmentation
  draws (:mod:`trm.data.sudoku.augment`: digits relabelled, transpose when the boxes are square, bands and
  the rows inside them, stacks and the columns inside them permuted). Sudoku tokens: digit d is token d+1.
- Copy 0 of every puzzle is the identity, so the plain pass is always among the candidates.
- Vectorised: ``apply``/``invert`` are two gathers over [R, L] rows, no Python loop over copies.
- ARC is not offered: its test splits already hold the augmented variants, each with its own puzzle
  identifier, and are voted by :mod:`trm.data.arc.voting`; new variants would need identifiers the
  model never learnt.
"""

from __future__ import annotations

import numpy as np

from trm.data import dihedral
from trm.data.sudoku.grid import box_shape
from trm.errors import MismatchError


class AugmentError(MismatchError):
    """A task, grid or copy count for which test-time augmentation is not defined."""


def _lines(rng: np.random.Generator, count: int, groups: int, size: int) -> np.ndarray:
    """[count, groups*size] line orders that move whole groups and lines inside each group."""
    outer = rng.permuted(np.tile(np.arange(groups), (count, 1)), axis=1)  # [count, groups]
    inner = rng.permuted(np.tile(np.arange(size), (count, groups, 1)), axis=2)  # [count, groups, size]
    return (outer[:, :, None] * size + inner).reshape(count, groups * size)


def sudoku_symmetries(
    rng: np.random.Generator, count: int, n: int, vocab: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` symmetries of an n x n Sudoku: perm [count, n*n], tmap [count, vocab]; row 0 identity."""
    br, bc = box_shape(n)
    cells = np.arange(n * n).reshape(n, n)
    transpose = rng.random(count) < 0.5 if br == bc else np.zeros(count, dtype=bool)
    rows, cols = _lines(rng, count, n // br, br), _lines(rng, count, n // bc, bc)  # [count, n]
    grid = np.where(transpose[:, None, None], cells.T[None], cells[None])  # [count, n, n]
    k = np.arange(count)[:, None, None]
    perm = grid[k, rows[:, :, None], cols[:, None, :]].reshape(count, n * n)
    tmap = np.tile(np.arange(vocab), (count, 1))
    tmap[:, 2 : n + 2] = rng.permuted(np.tile(np.arange(2, n + 2), (count, 1)), axis=1)  # digit tokens
    perm[0], tmap[0] = np.arange(n * n), np.arange(vocab)
    return perm, tmap


def maze_symmetries(count: int, side: int, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """Dihedral transforms 0..count-1 of a side x side maze: perm [count, side*side], tmap identity."""
    if count > dihedral.NUM_TRANSFORMS:
        raise AugmentError(f"a maze has {dihedral.NUM_TRANSFORMS} symmetries; augment:k={count} is too many")
    cells = np.arange(side * side).reshape(side, side)
    perm = np.stack([dihedral.apply(t, cells).reshape(-1) for t in range(count)])
    return perm, np.tile(np.arange(vocab), (count, 1))


def draw_symmetries(
    task: str, grid_shape: tuple[int, int], vocab: int, puzzles: int, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` symmetries for each of ``puzzles`` puzzles: perm [puzzles*count, L], tmap [puzzles*count, V],
    puzzle-major (row p*count + c is copy c of puzzle p; copy 0 the identity)."""
    rows, cols = grid_shape
    if task == "sudoku":
        if rows != cols:
            raise AugmentError(f"a Sudoku grid is square, got {grid_shape}")
        parts = [sudoku_symmetries(rng, count, rows, vocab) for _ in range(puzzles)]
        return np.concatenate([p for p, _ in parts]), np.concatenate([t for _, t in parts])
    if task == "maze":
        if rows != cols:
            raise AugmentError(f"the dihedral transforms need a square maze, got {grid_shape}")
        perm, tmap = maze_symmetries(count, rows, vocab)
        return np.tile(perm, (puzzles, 1)), np.tile(tmap, (puzzles, 1))
    if task == "arc":
        raise AugmentError(
            "ARC test splits already hold the augmented variants (one puzzle identifier each); "
            "vote over them with `trm arc` instead of augment:k"
        )
    raise AugmentError(f"test-time augmentation is not defined for task {task!r} (sudoku and maze have it)")


def invert(perm: np.ndarray, tmap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inverse symmetries of perm [R, L], tmap [R, V]."""
    return np.argsort(perm, axis=1), np.argsort(tmap, axis=1)


def apply(tokens: np.ndarray, perm: np.ndarray, tmap: np.ndarray) -> np.ndarray:
    """Token rows [R, L] -> ``tmap[row[perm]]`` per row [R, L]."""
    moved = np.take_along_axis(np.asarray(tokens), perm, axis=1)
    return np.take_along_axis(tmap, moved.astype(np.int64), axis=1).astype(np.asarray(tokens).dtype)
