"""How a task's cells look: their text, terminal style, picture colours, box lines and rule breaks.

A task gives its :class:`GridStyle` as ``Task.style`` (:mod:`trm.data.tasks`); :mod:`trm.viz.render` draws
every grid with it (rich terminal text, PNG, GIF) and never asks which task it draws. This class is the
generic style, what a task without its own gets: values as text (the task's ``symbols`` when it names its
values) on a light background, changed cells highlighted, no rule checks. Plain data and NumPy: no rich, no
matplotlib here.
"""

from __future__ import annotations

import numpy as np

LIGHT = (0.97, 0.97, 0.97)  # RGB fill of a cell without a palette colour


class GridStyle:
    """The generic style; tasks override the attributes and methods that differ."""

    palette: tuple[str, ...] | None = None  # "#RRGGBB" fill of each value; None: ``background`` everywhere
    background: tuple[float, float, float] = LIGHT  # RGB fill without a palette
    blend_changed: bool = False  # a changed cell mixes the highlight into its fill (True) or takes it (False)
    draw_values: bool = True  # pictures write each value's text (on grids of at most 16 a side)
    blank: int | None = None  # a value pictures leave empty (Sudoku's blank)
    marks_clues: bool = False  # the question's filled cells are clues: kept, drawn apart from model cells

    def cell_text(self, value: int) -> str:
        """The text of one value (terminal and pictures; a task's own ``symbols`` replace it)."""
        return str(value)

    def separator(self, grid: np.ndarray) -> str:
        """What stands between two cells of a row in terminal text."""
        return " " if np.asarray(grid).max(initial=0) >= 10 else ""

    def term_style(self, value: int, *, clue: bool, changed: bool, wrong: bool) -> str:
        """The rich style of one cell in terminal text."""
        if wrong:
            return "bold red"
        if changed:
            return "bold yellow"
        return ""

    def boxes(self, rows: int, cols: int) -> tuple[int, int] | None:
        """(rows, cols) of the boxes drawn with heavier lines, or None."""
        return None

    def conflicts(self, grid: np.ndarray, question: np.ndarray | None) -> np.ndarray:
        """bool mask of the cells that break a rule of the task (drawn red)."""
        return np.zeros(np.shape(grid), dtype=bool)
