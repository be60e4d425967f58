"""Seeded generation of Sudoku puzzles with a unique solution, minimal by default, with a rating.

Design choices:

- Puzzle i of a call (0-based, counted from ``start``) draws from its own numpy Generator, seeded by
  ``SeedSequence(seed, spawn_key=(start + i,))``. So the same seed gives the same puzzles, a longer
  list extends a shorter one (``count=5`` starts with the ``count=3`` list), and workers can build
  disjoint slices in parallel with ``start``.
- A full solution grid comes from the solver's search on an empty grid with a random digit guessed at
  each choice point (``search(..., pick=...)``), so every valid grid can come out.
- Clues are removed in a random order; a removal is kept only when the puzzle stays unique. Checking
  uniqueness after removing clue v at cell c needs only one search: is there a solution with c != v?
  (The puzzle had exactly one solution before.) One pass over the cells gives a minimal puzzle: a clue
  that could not be removed earlier cannot be removed later either, since fewer clues only allow more
  solutions. With ``minimal=False`` the removal stops as soon as ``min_blanks`` cells are blank.
- Filters retry with the next full grid of the same puzzle's Generator: ``min_blanks`` (at least that
  many blanks) and ``target_rating`` (an int r means rating >= r; a pair (lo, hi) means lo <= rating <=
  hi; ratings are :func:`trm.data.sudoku.solver.rate`). After ``max_attempts`` failed grids for one
  puzzle a RuntimeError says which filter failed, rather than looping forever. Minimal 9x9 puzzles rate
  0-15 (41% rate 0; about 8% rate >= 5, 2% >= 9), so a high floor costs many attempts.
- Speed, one core: 6x6 about 600 minimal puzzles/s, 9x9 about 80/s; a minimal 16x16 takes about a
  minute (its uniqueness checks need deep searches), so for 16x16 use ``minimal=False, min_blanks=...``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trm.data.sudoku.grid import box_shape
from trm.data.sudoku.solver import geometry, initial_state, rate, search
from trm.errors import InputError


@dataclass
class Generated:
    """One generated puzzle with its unique solution and its rating (guesses of the solver)."""

    puzzle: np.ndarray  # [N, N] int64, 0 = blank
    solution: np.ndarray  # [N, N] int64
    rating: int


def _random_full_grid(n: int, rng: np.random.Generator) -> list[int]:
    """A random valid full grid, row-major values."""
    g = geometry(n)
    state = initial_state([0] * (n * n), g)
    assert state is not None

    def pick(mask: int) -> int:
        bits = [1 << d for d in range(n) if mask >> d & 1]
        return bits[int(rng.integers(len(bits)))]

    found: list[list[int]] = []
    search(state[0], state[1], g, 1, found, pick)
    return [m.bit_length() for m in found[0]]


def _has_other_solution(values: list[int], cell: int, digit: int, n: int) -> bool:
    """Is there a solution of ``values`` (clues, 0 = blank) with ``digit`` NOT at ``cell``?"""
    g = geometry(n)
    values = values.copy()
    values[cell] = 0
    state = initial_state(values, g, exclude=(cell, digit))
    if state is None:
        return False
    found: list[list[int]] = []
    search(state[0], state[1], g, 1, found)
    return bool(found)


def _remove_clues(
    solution: list[int], n: int, rng: np.random.Generator, min_blanks: int, minimal: bool
) -> list[int]:
    g = geometry(n)
    values = solution.copy()
    used = [0] * len(g.units)  # digits among the current clues of each unit
    for i, v in enumerate(values):
        for u in g.cell_units[i]:
            used[u] |= 1 << (v - 1)
    blanks = 0
    for cell in rng.permutation(n * n).tolist():
        if not minimal and blanks >= min_blanks:
            break
        digit = values[cell]
        b = 1 << (digit - 1)
        r, c, x = g.cell_units[cell]
        forced = (used[r] | used[c] | used[x]) & ~b == g.full ^ b  # the peers' clues leave only this digit
        if forced or not _has_other_solution(values, cell, digit, n):
            values[cell] = 0
            used[r], used[c], used[x] = used[r] & ~b, used[c] & ~b, used[x] & ~b
            blanks += 1
    return values


def _accepts(rating: int, target: int | tuple[int, int] | None) -> bool:
    if target is None:
        return True
    if isinstance(target, tuple):
        return target[0] <= rating <= target[1]
    return rating >= target


def generate(
    n: int = 9,
    *,
    count: int = 1,
    min_blanks: int | None = None,
    target_rating: int | tuple[int, int] | None = None,
    seed: int = 0,
    minimal: bool = True,
    start: int = 0,
    max_attempts: int = 1000,
) -> list[Generated]:
    """``count`` puzzles of size ``n`` with unique solutions (minimal unless ``minimal=False``).

    See the module docstring for ``min_blanks``, ``target_rating``, ``start`` and reproducibility.
    """
    box_shape(n)
    if not minimal and min_blanks is None:
        raise InputError("minimal=False needs min_blanks (how many clues to remove)")
    if min_blanks is not None and not 0 <= min_blanks <= n * n:
        raise InputError(f"min_blanks must lie in 0..{n * n}")
    if isinstance(target_rating, tuple) and (len(target_rating) != 2 or target_rating[0] > target_rating[1]):
        raise InputError("target_rating must be an int or a pair (lo, hi) with lo <= hi")
    out = []
    for i in range(start, start + count):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
        for _attempt in range(max_attempts):
            solution = _random_full_grid(n, rng)
            values = _remove_clues(solution, n, rng, min_blanks or 0, minimal)
            puzzle = np.array(values, dtype=np.int64).reshape(n, n)
            if values.count(0) < (min_blanks or 0):
                continue
            rating = rate(puzzle)
            if _accepts(rating, target_rating):
                out.append(Generated(puzzle, np.array(solution, dtype=np.int64).reshape(n, n), rating))
                break
        else:
            raise InputError(
                f"puzzle {i}: no {n}x{n} puzzle with min_blanks={min_blanks} and "
                f"target_rating={target_rating} in {max_attempts} attempts; "
                "relax the filters or raise max_attempts"
            )
    return out
