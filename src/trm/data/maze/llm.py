"""Mazes for an LLM (``MazeTask.text_form``): one line per row over ``# . S G o``. Open cells are written
``.`` rather than the dataset's space, because chat front ends and models trim or collapse spaces (a space
still reads as an open cell); cells may be separated by single spaces (``# . S``)."""

from __future__ import annotations

from trm.data.maze.grid import GOAL, OPEN, PATH, START, WALL
from trm.data.text_grid import TextForm

WRITE = {WALL: "#", OPEN: ".", START: "S", GOAL: "G", PATH: "o"}
READ = {"#": WALL, ".": OPEN, " ": OPEN, "S": START, "G": GOAL, "o": PATH, "*": PATH}


class MazeForm(TextForm):
    packed = True
    cell_words = "one of # . S G o per cell, no spaces"

    def __init__(self, rows: int, cols: int) -> None:
        super().__init__("maze", rows, cols, WRITE)

    def read_char(self, ch: str) -> int | None:
        return READ.get(ch)

    def rules(self) -> str:
        return (
            f"Find a shortest path through this {self.rows}x{self.cols} maze. '#' is a wall, '.' is an open "
            "cell, 'S' is the start and 'G' is the goal. A path moves one cell up, down, left or right at a "
            "time and never enters a wall. Mark with 'o' every cell strictly between S and G on ONE shortest "
            "path (the fewest moves); leave every other cell, S and G as they are."
        )
