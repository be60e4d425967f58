"""The Sudoku task codec: round trips; a vectorised valid_solution that agrees with the toolkit's rules."""

from __future__ import annotations

import numpy as np
import pytest

from trm.data.sudoku import format_grid, generate, is_valid_solution, to_tokens
from trm.data.sudoku.task import SudokuTask
from trm.data.tasks import get_task


@pytest.fixture(scope="module")
def generated():
    return generate(6, count=5, seed=2) + generate(4, count=3, seed=2)


def test_registered():
    assert isinstance(get_task("sudoku"), SudokuTask) and get_task("sudoku").name == "sudoku"


def test_round_trips(generated):
    task = SudokuTask()
    for g in generated:
        n = g.puzzle.shape[0]
        for grid in (g.puzzle, g.solution):
            tokens = task.encode(grid, (n, n))
            assert tokens.shape == (n * n,) and set(np.unique(tokens)) <= set(range(1, n + 2))
            assert np.array_equal(task.decode(tokens, (n, n)), grid)
        assert np.array_equal(task.parse(format_grid(g.puzzle)), g.puzzle)
        assert np.array_equal(task.parse(task.render_text(g.puzzle)), g.puzzle)
        assert task.is_valid_answer(g.puzzle, g.solution) and not task.is_valid_answer(g.puzzle, g.puzzle)
    with pytest.raises(ValueError, match="does not fit"):
        task.encode(generated[0].puzzle, (9, 9))


def test_decode_reads_non_cells_as_blanks():
    task = SudokuTask()
    tokens = np.array([0, 1, 2, 5, 6, 9, 3, 4, 2, 2, 2, 2, 2, 2, 2, 2])  # PAD, blank, digits, 9 is beyond 4x4
    grid = task.decode(tokens, (4, 4))
    assert grid[0, :3].tolist() == [0, 0, 1] and grid[1, 1] == 0


def test_metrics_agree_with_the_rules(generated, rng):
    task = SudokuTask()
    six = [g for g in generated if g.puzzle.shape[0] == 6]
    questions, answers = [], []
    for g in six:
        candidates = [g.solution, g.puzzle]  # right; blanks left
        swapped = g.solution.copy()
        swapped[0, [0, 1]] = swapped[0, [1, 0]]  # breaks columns
        candidates.append(swapped)
        relabelled = np.where(g.solution > 0, g.solution % 6 + 1, 0)  # a valid grid that changes every clue
        candidates.append(relabelled)
        noisy = g.solution.copy()
        noisy[rng.integers(6), rng.integers(6)] = rng.integers(1, 7)
        candidates.append(noisy)
        for c in candidates:
            questions.append(to_tokens(g.puzzle))
            answers.append(to_tokens(c))
    inputs, preds = np.stack(questions), np.stack(answers)
    got = task.metrics(inputs, preds, preds)["valid_solution"]
    want = [
        is_valid_solution(task.decode(q, (6, 6)), task.decode(p, (6, 6)))
        for q, p in zip(inputs, preds, strict=True)
    ]
    assert got.dtype == bool and got.tolist() == want
    assert got[0::5].all() and not got[1::5].any() and not got[2::5].any() and not got[3::5].any()
    padded = preds.copy()
    padded[:, 0] = 0  # a PAD token is no digit
    assert not task.metrics(inputs, padded, preds)["valid_solution"].any()


def test_boxes_are_checked():
    task = SudokuTask()
    n = 6
    latin = (np.arange(n)[None, :] + np.arange(n)[:, None]) % n + 1  # rows and columns fine, boxes not
    blank = np.zeros((n, n), dtype=np.int64)
    got = task.metrics(to_tokens(blank)[None], to_tokens(latin)[None], to_tokens(latin)[None])[
        "valid_solution"
    ]
    assert not got[0] and not is_valid_solution(blank, latin)
