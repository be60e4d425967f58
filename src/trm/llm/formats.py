"""How a task's grid is written into a prompt, and how a grid is read back out of a free-form reply.

Design choices:

- **One text form per task, for both directions.** The prompt shows the question in the form the
  answer must take, so a model can copy the layout. Sudoku: one line per row, one character per cell
  (``.`` = blank, digits ``1``-``9``, ``A``-``G`` for 16x16). Maze: one line per row over ``# . S G o``;
  open cells are written ``.`` rather than the dataset's space, because chat front ends and models
  trim or collapse spaces (a space still reads as an open cell).
- **The last grid-shaped block wins.** A reply often repeats the question, reasons, and then answers;
  the answer is the LAST block of consecutive lines that each read as a row of exactly ``cols`` cells,
  taken as its last ``rows`` lines; a single line holding all ``rows * cols`` cells also counts. Code
  fences, prose and blank lines end a block; lines made only of separators (``---+---``) do not.
- **Tolerant rows.** Sudoku rows may carry separators (spaces, ``|``, ``+``, ``-``, commas, brackets,
  quotes, box-drawing characters), so ``5 3 4 | 6 7 8``, ``[5, 3, 4, ...]`` and markdown table rows all
  read. Maze rows may separate their cells by single spaces (``# . S``). In both, a label before the
  last ``:`` (``Row 3: ...``) is ignored. Anything else (a letter that is no cell) makes the line prose.
- **ARC** grids have no fixed shape (:class:`ArcFormat`): rows of digits 0-9; the answer is the last
  block of consecutive rows of equal width (at most 30 of them), or a JSON grid on one line.
- Reading returns None when no block has the task's shape; the caller scores that as wrong. Only
  the shape is checked here; whether the answer is right is for the task's metrics.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from trm.data.arc.tasks_io import MAX_SIDE
from trm.data.maze.grid import GOAL, OPEN, PATH, START, WALL
from trm.data.sudoku.grid import DIGITS

_SEPARATORS = frozenset(" \t|+-,;[]()'\"`_=*") | frozenset(chr(c) for c in range(0x2500, 0x2580))
_MAZE_WRITE = {WALL: "#", OPEN: ".", START: "S", GOAL: "G", PATH: "o"}
_MAZE_READ = {"#": WALL, ".": OPEN, " ": OPEN, "S": START, "G": GOAL, "o": PATH, "*": PATH}


@dataclass(frozen=True)
class GridFormat:
    """Text form of a task's (rows, cols) grids: ``write`` one, ``read`` the last one in a text."""

    task: str
    rows: int
    cols: int

    # -- writing ---------------------------------------------------------------------------------------------
    def write(self, grid: np.ndarray) -> str:
        """Grid of task values -> ``rows`` lines of ``cols`` characters."""
        g = np.asarray(grid)
        if g.shape != (self.rows, self.cols):
            raise ValueError(f"{self.task} grid of shape {g.shape}, expected {(self.rows, self.cols)}")
        table = DIGITS if self.task == "sudoku" else None
        lines = []
        for row in g.tolist():
            if table is not None:
                lines.append("".join(table[v] if 0 <= v < len(table) else "?" for v in row))
            else:
                lines.append("".join(_MAZE_WRITE.get(v, "?") for v in row))
        return "\n".join(lines)

    def describe(self) -> str:
        """The answer layout in words, for prompts and error messages."""
        return f"{self.rows} lines of {self.cols} characters"

    # -- reading ---------------------------------------------------------------------------------------------
    def read(self, text: str | None) -> np.ndarray | None:
        """The last grid-shaped block of ``text`` -> grid [rows, cols] of task values, or None."""
        last: list[list[int]] | None = None
        run: list[list[int]] = []
        for line in _lines(text):
            kind, cells = self._read_line(line)
            if kind == "row":
                run.append(cells)
                continue
            if kind == "separator":
                continue
            if len(run) >= self.rows:
                last = run[-self.rows :]
            run = []
            if kind == "full":
                last = [cells[r * self.cols : (r + 1) * self.cols] for r in range(self.rows)]
        if len(run) >= self.rows:
            last = run[-self.rows :]
        return None if last is None else np.asarray(last, dtype=np.int64)

    def _read_line(self, line: str) -> tuple[str, list[int]]:
        """('row' | 'full' | 'separator' | 'other', cells) for one line of a reply."""
        line = line.rstrip("\r\n")
        candidates = [line]
        if ":" in line:
            candidates.append(line.rsplit(":", 1)[1])
        for candidate in candidates:
            cells = self._cells(candidate)
            if cells is None:
                continue
            if len(cells) == self.cols:
                return "row", cells
            if self.rows > 1 and len(cells) == self.rows * self.cols:
                return "full", cells
            if not cells and candidate.strip() and candidate is line:
                return "separator", cells
        return "other", []

    def _cells(self, text: str) -> list[int] | None:
        """The cells of one line, or None when it holds a character that is neither cell nor separator."""
        if self.task == "sudoku":
            n = self.rows
            return _separated_cells(
                text, lambda ch: v if (v := _sudoku_value(ch)) is not None and v <= n else None
            )
        stripped = text.strip()
        if not stripped:
            return None  # a blank line ends a block, even one of exactly ``cols`` spaces
        spaced = len(stripped) == 2 * self.cols - 1 and stripped[1::2].strip() == ""
        for form in (text, stripped, stripped[::2] if spaced else None):
            fits = form is not None and len(form) in (self.cols, self.rows * self.cols)
            if fits and all(ch in _MAZE_READ for ch in form):
                return [_MAZE_READ[ch] for ch in form]
        if stripped and all(ch in "-=+|" for ch in stripped):
            return []  # a separator line
        return None


def _lines(text: str | None) -> list[str]:
    return text.replace("\r\n", "\n").split("\n") if text else []


def _separated_cells(text: str, value_of) -> list[int] | None:
    """The cells of a line whose cells may be separated (spaces, ``|``, commas, brackets ...), or None when a
    character is neither a separator nor a cell (``value_of`` returns None)."""
    cells = []
    for ch in text:
        if ch in _SEPARATORS or ch.isspace():
            continue
        value = value_of(ch)
        if value is None:
            return None
        cells.append(value)
    return cells


def _sudoku_value(ch: str) -> int | None:
    if ch in ".0":
        return 0
    upper = ch.upper()
    if upper in DIGITS[1:]:
        return DIGITS.index(upper)
    return None


@dataclass(frozen=True)
class ArcFormat:
    """ARC grids: any shape up to ``max_side`` a side, one line per row, one digit 0-9 per cell.

    ``read`` takes the last block of consecutive rows of equal width (1..``max_side`` rows), or a grid
    written as JSON on one line (``[[0, 1], [2, 3]]``), whichever comes last.
    """

    task: str = "arc"
    max_side: int = MAX_SIDE

    def write(self, grid: np.ndarray) -> str:
        return "\n".join("".join(str(int(c)) for c in row) for row in np.asarray(grid))

    def describe(self) -> str:
        return "one line per row, one digit 0-9 per cell"

    def read(self, text: str | None) -> np.ndarray | None:
        last: list[list[int]] | None = None
        run: list[list[int]] = []
        for line in _lines(text):
            grid = _json_grid(line, self.max_side)
            cells = None if grid is not None else self._row(line)
            if cells and run and len(cells) == len(run[0]):
                run.append(cells)
                continue
            if 0 < len(run) <= self.max_side:
                last = run
            run = [cells] if cells else []
            if grid is not None:
                last = grid
        if 0 < len(run) <= self.max_side:
            last = run
        return None if last is None else np.asarray(last, dtype=np.uint8)

    def _row(self, line: str) -> list[int] | None:
        for candidate in (line, line.rsplit(":", 1)[1] if ":" in line else ""):
            cells = _separated_cells(candidate, lambda ch: int(ch) if ch in "0123456789" else None)
            if cells and len(cells) <= self.max_side:
                return cells
        return None


def _json_grid(line: str, max_side: int) -> list[list[int]] | None:
    """A grid written as JSON on one line, or None."""
    text = line.strip().rstrip(",")
    if not text.startswith("[["):
        return None
    try:
        grid = json.loads(text)
    except json.JSONDecodeError:
        return None
    ok = (
        isinstance(grid, list)
        and 0 < len(grid) <= max_side
        and all(isinstance(r, list) and r and len(r) == len(grid[0]) <= max_side for r in grid)
        and all(isinstance(v, int) and 0 <= v <= 9 for r in grid for v in r)
    )
    return grid if ok else None


SUPPORTED_TASKS = ("sudoku", "maze", "arc")


def grid_format(task: str, grid_shape: tuple[int, int]) -> GridFormat | ArcFormat:
    """The text form of ``task``'s grids (a dataset's ``metadata.task`` and ``grid_shape``)."""
    if task == "arc":
        return ArcFormat()
    if task not in SUPPORTED_TASKS:
        raise ValueError(f"no LLM prompt for task {task!r}; supported: {', '.join(SUPPORTED_TASKS)}")
    rows, cols = (int(x) for x in grid_shape)
    return GridFormat(task=task, rows=rows, cols=cols)
