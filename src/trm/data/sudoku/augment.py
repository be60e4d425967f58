"""Sudoku augmentation: validity-preserving symmetries, one map on puzzle and solution (as the TRM paper).

One augmentation = relabel the digits 1..N by a random permutation (0 stays blank), transpose with
probability 0.5, permute the bands (horizontal strips of boxes) and the rows inside each band, and the
stacks (vertical strips) and the columns inside each stack. Every such map sends a valid grid to a
valid grid. Transposing is only offered when boxes are square (4x4, 9x9, 16x16): a 6x6 grid has boxes
of 2 rows x 3 columns, and its transpose would have 3 x 2 boxes, which is not the same puzzle family,
so 6x6 grids are never transposed.

The order is: relabel, transpose, then permute rows and columns. ``augment`` draws from a numpy
Generator in a fixed order (digits, transpose coin, bands, rows, stacks, columns), so a seed fixes the
result. ``augment_batch`` draws K maps at once and applies them with fancy indexing (no Python loop over
variants), for dataset builders that want 1,000 variants of each puzzle.
"""

from __future__ import annotations

import numpy as np

from trm.data import augment as shared
from trm.data.sudoku.grid import box_shape


def _line_order(rng: np.random.Generator, groups: int, size: int) -> np.ndarray:
    """A permutation of groups*size lines that moves whole groups and lines inside each group."""
    outer = rng.permutation(groups)
    return np.concatenate([g * size + rng.permutation(size) for g in outer])


def augment(
    puzzle: np.ndarray, solution: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One random symmetry applied to both grids [N, N]; returns new arrays (inputs are not changed)."""
    p, s = np.asarray(puzzle), np.asarray(solution)
    n = p.shape[0]
    br, bc = box_shape(n)
    digits = np.concatenate([[0], rng.permutation(n) + 1])  # digits[v] = new label of v
    transpose = br == bc and rng.random() < 0.5
    rows = _line_order(rng, n // br, br)  # new row i = old row rows[i]
    cols = _line_order(rng, n // bc, bc)

    def apply(grid: np.ndarray) -> np.ndarray:
        g = digits[grid]
        if transpose:
            g = g.T
        return g[rows][:, cols]

    return apply(p), apply(s)


def augment_batch(
    puzzle: np.ndarray, solution: np.ndarray, rng: np.random.Generator, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random symmetries of one pair: (puzzles [K, N, N], solutions [K, N, N]).

    Each variant is distributed as one ``augment`` call (its random draws differ).
    """
    p, s = np.asarray(puzzle), np.asarray(solution)
    n = p.shape[0]
    br, bc = box_shape(n)
    k = np.arange(count)[:, None]
    digits = shared.permute_symbols(rng, count, n + 1, np.arange(1, n + 1))  # [K, N+1], blank 0 stays
    transpose = rng.random(count) < 0.5 if br == bc else np.zeros(count, bool)
    rows = shared.line_orders(rng, count, n // br, br)  # [K, N] row order per variant
    cols = shared.line_orders(rng, count, n // bc, bc)

    def apply(grid: np.ndarray) -> np.ndarray:
        g = np.broadcast_to(grid, (count, n, n))
        g = np.where(transpose[:, None, None], g.transpose(0, 2, 1), g)
        g = g[k[:, :, None], rows[:, :, None], cols[:, None, :]]  # [K, N, N]
        return digits[k[:, :, None], g]

    return apply(p), apply(s)


def token_symmetries(
    rng: np.random.Generator, count: int, n: int, vocab: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` symmetries of an n x n Sudoku in token space, for test-time augmentation: positions
    perm [count, n*n] and token map tmap [count, vocab] (digit d is token d+1); row 0 is the identity.

    The same draws as :func:`augment_batch`: digits relabelled, transpose when the boxes are square, bands
    and the rows inside them, stacks and the columns inside them permuted."""
    br, bc = box_shape(n)
    cells = np.arange(n * n).reshape(n, n)
    transpose = rng.random(count) < 0.5 if br == bc else np.zeros(count, dtype=bool)
    rows, cols = shared.line_orders(rng, count, n // br, br), shared.line_orders(rng, count, n // bc, bc)
    grid = np.where(transpose[:, None, None], cells.T[None], cells[None])  # [count, n, n]
    k = np.arange(count)[:, None, None]
    perm = grid[k, rows[:, :, None], cols[:, None, :]].reshape(count, n * n)
    tmap = shared.permute_symbols(rng, count, vocab, np.arange(2, n + 2))  # digit tokens move, PAD/blank stay
    perm[0], tmap[0] = np.arange(n * n), np.arange(vocab)
    return perm, tmap
