"""How mazes look (:class:`MazeStyle`, ``MazeTask.style``): one character and one colour per cell code of
:mod:`trm.data.maze.grid` (0 PAD, 1 wall, 2 open, 3 S, 4 G, 5 path); pictures draw colours, no text."""

from __future__ import annotations

import numpy as np

from trm.data.grid_style import GridStyle

CHARS = "?# SGo"  # terminal character of each cell code
COLOURS = ("#BBBBBB", "#2B2B2B", "#FFFFFF", "#2ECC40", "#FF4136", "#0074D9")
_TERM = {1: "dim", 3: "bold green", 4: "bold red", 5: "bold cyan"}


class MazeStyle(GridStyle):
    palette = COLOURS
    blend_changed = True
    draw_values = False

    def cell_text(self, value: int) -> str:
        return CHARS[value] if 0 <= value < len(CHARS) else "?"

    def separator(self, grid: np.ndarray) -> str:
        return ""

    def term_style(self, value: int, *, clue: bool, changed: bool, wrong: bool) -> str:
        return super().term_style(value, clue=clue, changed=changed, wrong=wrong) or _TERM.get(value, "")
