"""How ARC grids look (:class:`ArcStyle`, ``ArcTask.style``): each cell is its colour (the 0-9 ARC palette),
in the terminal as a coloured block, in pictures as a filled square; no text."""

from __future__ import annotations

import numpy as np

from trm.data.grid_style import GridStyle

# ARC's colours: 0 black, 1 blue, 2 red, 3 green, 4 yellow, 5 grey, 6 magenta, 7 orange, 8 azure, 9 maroon.
PALETTE = ("#000000", "#0074D9", "#FF4136", "#2ECC40", "#FFDC00",
           "#AAAAAA", "#F012BE", "#FF851B", "#7FDBFF", "#870C25")  # fmt: skip
UNKNOWN = "#DDDDDD"  # a value that is no colour


class ArcStyle(GridStyle):
    palette = PALETTE
    blend_changed = True
    draw_values = False

    def cell_text(self, value: int) -> str:
        return "  "

    def separator(self, grid: np.ndarray) -> str:
        return ""

    def term_style(self, value: int, *, clue: bool, changed: bool, wrong: bool) -> str:
        colour = PALETTE[value] if 0 <= value < len(PALETTE) else UNKNOWN
        return f"on {colour}" + (" underline bold yellow" if changed else "")
