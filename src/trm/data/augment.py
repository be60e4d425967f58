"""Augmentation pieces every task shares: symbol permutations with fixed symbols, line orders, and grid maps
``(dihedral transform, symbol map)`` with their exact inverses.

Design choices:

- **One symbol permutation.** ARC's colour permutation (colour 0, the background, stays), a user grid task's
  symbol permutation (its fixed symbols stay) and Sudoku's digit relabelling (blank stays; token space: PAD
  and blank stay) are one operation: :func:`permute_symbols` moves the ``movable`` symbols among themselves
  and leaves the others. ``count`` maps are drawn at once with ``rng.permuted`` over rows, so a seed fixes
  the result and the draws match what the task modules drew before they shared this function.
- **One line order.** Sudoku's bands-then-rows (and stacks-then-columns) permutation is
  :func:`line_orders`, used by the training augmentation and by test-time augmentation alike.
- A grid map is ``(t, symbol_map)``: relabel, then dihedral transform ``t`` (:mod:`trm.data.dihedral`);
  :func:`invert` undoes :func:`apply` exactly.
- :class:`AugmentError` is what a task raises when an augmentation is not defined for it (a wrong shape, too
  many copies, a task without symmetries); it is a :class:`~trm.errors.MismatchError`, a user error.
"""

from __future__ import annotations

import numpy as np

from trm.data import dihedral
from trm.errors import MismatchError


class AugmentError(MismatchError):
    """A task, grid or copy count for which an augmentation is not defined."""


def permute_symbols(
    rng: np.random.Generator, count: int, num_symbols: int, movable: np.ndarray, dtype=np.int64
) -> np.ndarray:
    """``count`` symbol maps [count, num_symbols]: row r sends symbol s to ``maps[r, s]``; the ``movable``
    symbols are permuted among themselves, every other symbol maps to itself."""
    movable = np.asarray(movable, dtype=np.int64)
    maps = np.tile(np.arange(num_symbols, dtype=dtype), (count, 1))
    maps[:, movable] = rng.permuted(np.tile(movable.astype(dtype), (count, 1)), axis=1)
    return maps


def inverse_maps(maps: np.ndarray) -> np.ndarray:
    """The inverse of each symbol map (rows of a [..., K] array of permutations), same dtype."""
    maps = np.asarray(maps)
    return np.argsort(maps, axis=-1).astype(maps.dtype)


def line_orders(rng: np.random.Generator, count: int, groups: int, size: int) -> np.ndarray:
    """[count, groups*size] line orders that move whole groups of ``size`` lines, and the lines inside each
    group (Sudoku: bands and the rows inside them). New line i is old line ``order[i]``."""
    outer = rng.permuted(np.tile(np.arange(groups), (count, 1)), axis=1)  # [count, groups]
    inner = rng.permuted(np.tile(np.arange(size), (count, groups, 1)), axis=2)  # [count, groups, size]
    return (outer[:, :, None] * size + inner).reshape(count, groups * size)


def apply(t: int, symbol_map: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Relabel the symbols of ``grid`` [..., h, w] by ``symbol_map``, then apply dihedral transform ``t``."""
    return dihedral.apply(int(t), np.asarray(symbol_map)[np.asarray(grid)])


def invert(t: int, symbol_map: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Undo :func:`apply`: ``invert(t, m, apply(t, m, g)) == g``."""
    return inverse_maps(symbol_map)[dihedral.apply(dihedral.inverse(int(t)), np.asarray(grid))]
