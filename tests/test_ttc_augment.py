"""Test-time augmentation in token space: every copy maps back exactly, and copies are real symmetries."""

from __future__ import annotations

import numpy as np
import pytest

from trm.data.maze.augment import transform
from trm.data.sudoku import generate, is_valid_solution, to_tokens
from trm.data.tasks import get_task
from trm.inference.ttc import augment


@pytest.mark.parametrize("n", [4, 6, 9])
def test_sudoku_copies_are_valid_puzzles_and_map_back_exactly(n, rng):
    made = generate(n, count=3, seed=n)
    task, shape, vocab = get_task("sudoku"), (n, n), n + 2
    questions = np.stack([to_tokens(g.puzzle).reshape(-1) for g in made])
    solutions = np.stack([to_tokens(g.solution).reshape(-1) for g in made])
    k = 12
    perm, tmap = augment.draw_symmetries("sudoku", shape, vocab, len(made), k, rng)
    q_aug = augment.apply(np.repeat(questions, k, 0), perm, tmap)
    s_aug = augment.apply(np.repeat(solutions, k, 0), perm, tmap)
    for qa, sa in zip(q_aug, s_aug, strict=True):  # the augmented solution solves the augmented puzzle
        assert is_valid_solution(task.decode(qa, shape), task.decode(sa, shape))
    assert np.array_equal(q_aug[::k], questions)  # copy 0 is the puzzle itself
    assert len({r.tobytes() for r in q_aug}) > len(made) * k // 2  # copies differ
    inv = augment.invert(perm, tmap)
    assert np.array_equal(augment.apply(q_aug, *inv), np.repeat(questions, k, 0))
    noise = rng.integers(0, vocab, size=q_aug.shape)  # any prediction, even invalid tokens, maps back exactly
    assert np.array_equal(augment.apply(augment.apply(noise, *inv), perm, tmap), noise)


def test_maze_copies_are_the_dihedral_transforms(rng):
    side, vocab = 5, 6
    grid = rng.integers(1, 6, size=(side, side))
    perm, tmap = augment.draw_symmetries("maze", (side, side), vocab, 2, 8, rng)
    tokens = np.repeat(grid.reshape(1, -1), 16, 0)
    moved = augment.apply(tokens, perm, tmap)
    for t in range(8):
        assert np.array_equal(moved[t].reshape(side, side), transform(t, grid, grid)[0])
        assert np.array_equal(moved[8 + t], moved[t])
    assert np.array_equal(augment.apply(moved, *augment.invert(perm, tmap)), tokens)


def test_tasks_without_symmetries_are_errors(rng):
    with pytest.raises(augment.AugmentError, match="8 symmetries"):
        augment.draw_symmetries("maze", (5, 5), 6, 1, 9, rng)
    with pytest.raises(augment.AugmentError, match="ARC test splits already hold"):
        augment.draw_symmetries("arc", (30, 30), 12, 1, 2, rng)
    with pytest.raises(augment.AugmentError, match="not defined for task 'mine'"):
        augment.draw_symmetries("mine", (3, 3), 4, 1, 2, rng)
