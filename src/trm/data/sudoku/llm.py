"""Sudoku for an LLM (``SudokuTask.text_form``): one line per row, one character per cell (``.`` = blank,
digits ``1``-``9``, ``A``-``G`` for 16x16); rows may carry separators; the rules stated in plain words."""

from __future__ import annotations

from trm.data.sudoku.grid import DIGITS, box_shape
from trm.data.text_grid import TextForm


class SudokuForm(TextForm):
    def __init__(self, rows: int, cols: int) -> None:
        super().__init__("sudoku", rows, cols, DIGITS)

    def read_char(self, ch: str) -> int | None:
        if ch in ".0":
            return 0
        upper = ch.upper()
        if upper in DIGITS[1:] and DIGITS.index(upper) <= self.rows:
            return DIGITS.index(upper)
        return None

    def rules(self) -> str:
        n = self.rows
        br, bc = box_shape(n)
        digits = f"{DIGITS[1]}-{DIGITS[n]}" if n <= 9 else f"1-9 and {DIGITS[10]}-{DIGITS[n]}"
        return (
            f"Solve this {n}x{n} Sudoku. Fill every empty cell (shown as '.') with one of the symbols "
            f"{digits} so that every row, every column and every {br}x{bc} box (boxes of {br} rows and {bc} "
            "columns, tiling the grid) contains each symbol exactly once. Keep every given symbol where it "
            "is."
        )
