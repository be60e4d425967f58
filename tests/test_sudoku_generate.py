"""Sudoku generation and augmentation: unique, minimal, reproducible puzzles; symmetries keep validity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trm.data.sudoku import (
    augment,
    augment_batch,
    count_solutions,
    generate,
    is_valid_solution,
    parse,
    rate,
    solve,
    validate,
)
from trm.errors import InputError


def assert_unique_and_minimal(puzzle: np.ndarray, solution: np.ndarray) -> None:
    assert is_valid_solution(puzzle, solution)
    assert count_solutions(puzzle) == 1 and (solve(puzzle) == solution).all()
    for r, c in np.argwhere(puzzle > 0):
        fewer = puzzle.copy()
        fewer[r, c] = 0
        assert count_solutions(fewer) == 2, f"clue r{r + 1}c{c + 1} is removable"


@pytest.mark.parametrize("n,count", [(4, 10), (6, 10), (9, 3)])
def test_generated_puzzles_are_unique_and_minimal(n, count):
    made = generate(n, count=count, seed=3)
    assert len(made) == count
    for g in made:
        assert g.puzzle.shape == (n, n) and g.solution.shape == (n, n)
        assert_unique_and_minimal(g.puzzle, g.solution)
        assert g.rating == rate(g.puzzle)


def test_generate_16x16_unique_with_min_blanks():
    (g,) = generate(16, count=1, seed=0, minimal=False, min_blanks=120)
    assert (g.puzzle == 0).sum() == 120  # removal stops at min_blanks when not minimal
    assert is_valid_solution(g.puzzle, g.solution) and count_solutions(g.puzzle) == 1


def test_generate_is_reproducible_and_seed_dependent():
    a = generate(6, count=4, seed=11)
    b = generate(6, count=4, seed=11)
    c = generate(6, count=4, seed=12)
    for x, y in zip(a, b, strict=True):
        assert (x.puzzle == y.puzzle).all() and (x.solution == y.solution).all() and x.rating == y.rating
    assert any((x.puzzle != z.puzzle).any() for x, z in zip(a, c, strict=True))
    # a shorter list is a prefix of a longer one; start= picks a slice
    prefix = generate(6, count=2, seed=11)
    assert all((x.puzzle == y.puzzle).all() for x, y in zip(prefix, a, strict=False))
    tail = generate(6, count=2, seed=11, start=2)
    assert all((x.puzzle == y.puzzle).all() for x, y in zip(tail, a[2:], strict=False))
    # every puzzle differs from the others
    assert len({x.puzzle.tobytes() for x in a}) == len(a)


def test_generate_filters():
    made = generate(6, count=5, seed=0, min_blanks=26)
    assert all((g.puzzle == 0).sum() >= 26 for g in made)
    hard = generate(6, count=2, seed=0, target_rating=1)
    assert all(g.rating >= 1 for g in hard)
    ranged = generate(9, count=2, seed=0, target_rating=(2, 4))
    assert all(2 <= g.rating <= 4 for g in ranged)
    with pytest.raises(InputError, match="in 3 attempts"):  # filters no puzzle meets: the user's to relax
        generate(4, count=1, seed=0, target_rating=(50, 60), max_attempts=3)
    with pytest.raises(InputError, match="min_blanks"):
        generate(9, minimal=False)


@settings(max_examples=15, deadline=None)
@given(n=st.sampled_from([4, 6, 9]), seed=st.integers(0, 2**32 - 1))
def test_solver_on_generated_puzzles(n, seed):
    (g,) = generate(n, count=1, seed=seed, minimal=False, min_blanks={4: 10, 6: 20, 9: 45}[n])
    solution = solve(g.puzzle)
    assert validate(g.puzzle, solution=solution) == []
    assert (solution == g.solution).all() and count_solutions(g.puzzle) == 1


# ---- augmentation -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pairs():
    out = {}
    for n in (4, 6, 9, 16):
        (g,) = generate(n, count=1, seed=5, minimal=n < 16, min_blanks=100 if n == 16 else None)
        out[n] = (g.puzzle, g.solution)
    return out


@pytest.mark.parametrize("n", [6, 9])
def test_1000_augmentations_stay_valid(pairs, n):
    puzzle, solution = pairs[n]
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(1000):
        p, s = augment(puzzle, solution, rng)
        assert is_valid_solution(p, s)
        assert (p == 0).sum() == (puzzle == 0).sum()
        seen.add(p.tobytes())
    assert len(seen) > 990  # the group is large: variants rarely repeat
    p, s = augment(puzzle, solution, rng)
    assert count_solutions(p) == 1 and (solve(p) == s).all()


@pytest.mark.parametrize("n", [4, 6, 9, 16])
def test_augment_batch_stays_valid(pairs, n):
    puzzle, solution = pairs[n]
    ps, ss = augment_batch(puzzle, solution, np.random.default_rng(1), 1000 if n < 16 else 50)
    assert ps.shape[1:] == (n, n) and ss.shape == ps.shape
    for p, s in zip(ps, ss, strict=True):
        assert is_valid_solution(p, s)
    assert len({p.tobytes() for p in ps}) > 0.9 * len(ps) or n == 4
    # augment_batch does not touch its inputs; augment is reproducible from the seed
    a = augment(puzzle, solution, np.random.default_rng(7))
    b = augment(puzzle, solution, np.random.default_rng(7))
    assert (a[0] == b[0]).all() and (a[1] == b[1]).all()


def test_transpose_only_for_square_boxes(pairs):
    # A 9x9 transposes about half the time: the clue pattern's row counts then match old column counts.
    puzzle, solution = pairs[9]

    def profile(p):  # clue counts per band and per stack, sorted, are invariant except under transpose
        bands = sorted((p.reshape(3, 3, 9) > 0).sum(axis=(1, 2)).tolist())
        stacks = sorted((p.reshape(9, 3, 3) > 0).sum(axis=(0, 2)).tolist())
        return bands, stacks

    bands, stacks = profile(puzzle)
    assert bands != stacks, "pick a seed whose puzzle is not symmetric in this statistic"
    flips = [
        profile(augment(puzzle, solution, np.random.default_rng(i))[0]) == (stacks, bands) for i in range(200)
    ]
    assert 60 < sum(flips) < 140
    # 6x6 boxes are 2x3: a transpose would break them (validity of 1000 variants above shows none happens)
    p6, s6 = pairs[6]
    p, s = augment(p6, s6, np.random.default_rng(0))
    assert validate(p) == [] and validate(s) == []


def test_parse_then_augment_keeps_uniqueness():
    puzzle = parse("1....7.9..3..2...8..96..5....53..9...1..8...26....4...3......1..4......7..7...3..")
    solution = solve(puzzle)
    p, s = augment(puzzle, solution, np.random.default_rng(3))
    assert count_solutions(p) == 1 and (solve(p) == s).all()
