"""How Sudoku grids look (:class:`SudokuStyle`, ``SudokuTask.style``): clues dark, model-filled digits blue,
digits that break a rule or change a clue red, heavy lines around the boxes, blanks left empty."""

from __future__ import annotations

import numpy as np

from trm.data.grid_style import GridStyle


def box_shape(n: int) -> tuple[int, int]:
    """Box (rows, cols) of an n x n Sudoku: the most square factorisation with rows <= cols (any n, so a
    picture of an odd size still draws)."""
    rows = max(d for d in range(1, int(n**0.5) + 1) if n % d == 0)
    return rows, n // rows


def conflicts(grid: np.ndarray, question: np.ndarray | None = None) -> np.ndarray:
    """bool [n, n]: filled cells whose digit repeats in their row, column or box, or that change a clue."""
    g = np.asarray(grid, dtype=np.int64)
    n = g.shape[0] if g.ndim else 0
    bad = np.zeros(g.shape, dtype=bool)
    if g.ndim != 2 or g.shape[1] != n or n == 0:
        return bad
    br, bc = box_shape(n)
    box = (np.arange(n)[:, None] // br) * (n // bc) + np.arange(n)[None, :] // bc  # [n, n] box id per cell
    for unit in (
        np.broadcast_to(np.arange(n)[:, None], g.shape),
        np.broadcast_to(np.arange(n)[None, :], g.shape),
        box,
    ):
        for u in range(n):
            cells = unit == u
            values = g[cells]
            counts = np.bincount(values, minlength=n + 2)
            bad[cells] |= (values > 0) & (counts[values] > 1)
    if question is not None and np.shape(question) == g.shape:
        q = np.asarray(question)
        bad |= (q > 0) & (q != g)
    return bad


class SudokuStyle(GridStyle):
    background = (1.0, 1.0, 1.0)
    blank = 0
    marks_clues = True

    def cell_text(self, value: int) -> str:
        return "." if value == 0 else (str(value) if value < 10 else chr(ord("A") + value - 10))

    def separator(self, grid: np.ndarray) -> str:
        return " "

    def term_style(self, value: int, *, clue: bool, changed: bool, wrong: bool) -> str:
        base = super().term_style(value, clue=clue, changed=changed, wrong=wrong)
        return base or ("bold" if clue else "cyan")

    def boxes(self, rows: int, cols: int) -> tuple[int, int] | None:
        return box_shape(rows) if rows == cols else None

    def conflicts(self, grid: np.ndarray, question: np.ndarray | None) -> np.ndarray:
        return conflicts(grid, question)
