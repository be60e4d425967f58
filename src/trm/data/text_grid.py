"""Grids in free text, for LLM prompts and replies: how a task writes a grid, reads the last grid of a reply,
and words its prompt. A task gives its form as ``Task.text_form(grid_shape)`` (:mod:`trm.data.tasks`);
:mod:`trm.llm` asks, prompts and scores with it and never asks which task it is.

Design choices:

- **One text form per task, for both directions.** The prompt shows the question in the form the answer
  must take, so a model can copy the layout.
- **The last grid-shaped block wins.** A reply often repeats the question, reasons, and then answers; the
  answer is the LAST block of consecutive lines that each read as a row of exactly ``cols`` cells, taken as
  its last ``rows`` lines; a single line holding all ``rows * cols`` cells also counts. Code fences, prose
  and blank lines end a block; lines made only of separators (``---+---``) do not.
- **Two ways to read a row** (:class:`TextForm`): ``packed=False`` reads one character a cell and skips
  separators anywhere (spaces, ``|``, ``+``, ``-``, commas, brackets, quotes, box-drawing characters), so
  ``5 3 4 | 6 7 8``, ``[5, 3, 4, ...]`` and markdown table rows all read (Sudoku); ``packed=True`` reads
  exactly ``cols`` characters, or cells separated by single spaces, because a cell may be a space (Maze).
  In both, a label before the last ``:`` (``Row 3: ...``) is ignored; any other character makes the line
  prose.
- Reading returns None when no block has the shape; the caller scores that as wrong. Only the shape is
  checked here; whether the answer is right is for the task's metrics.
- **The generic form** (what :class:`trm.data.tasks.TaskBase` gives a task without its own) writes value v
  as ``0-9`` then ``A-Z`` and states no rules beyond "give the answer grid".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

SEPARATORS = frozenset(" \t|+-,;[]()'\"`_=*") | frozenset(chr(c) for c in range(0x2500, 0x2580))
GENERIC_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
Demos = Sequence[tuple[np.ndarray, np.ndarray]]


def lines(text: str | None) -> list[str]:
    return text.replace("\r\n", "\n").split("\n") if text else []


def separated_cells(text: str, value_of: Callable[[str], int | None]) -> list[int] | None:
    """The cells of a line whose cells may be separated (spaces, ``|``, commas, brackets ...), or None when a
    character is neither a separator nor a cell (``value_of`` returns None)."""
    cells = []
    for ch in text:
        if ch in SEPARATORS or ch.isspace():
            continue
        value = value_of(ch)
        if value is None:
            return None
        cells.append(value)
    return cells


class TextForm:
    """Text form of a task's fixed-shape (rows, cols) grids: ``write`` one, ``read`` the last one in a text,
    and the words of its prompt and tool. Tasks subclass it to change the alphabet and the words."""

    packed = False  # True: cells side by side, a cell may be a space (see the module docstring)
    cell_words = "one symbol per cell, no spaces or separators"  # the answer format's cells, in words
    tool_what = "puzzle grid"  # what the tool takes, in its prompt paragraph
    tool_check = "obeys the rules"  # what the tool says about its answer

    def __init__(
        self, task: str, rows: int, cols: int, alphabet: Mapping[int, str] | str | None = None
    ) -> None:
        self.task, self.rows, self.cols = task, int(rows), int(cols)
        table = GENERIC_ALPHABET if alphabet is None else alphabet
        self._write = dict(enumerate(table)) if isinstance(table, str) else dict(table)
        self._read = {ch: v for v, ch in self._write.items()}

    @property
    def shape(self) -> tuple[int, int] | None:
        """The grid shape the form reads and writes (None: any, up to the task's canvas)."""
        return (self.rows, self.cols)

    def read_char(self, ch: str) -> int | None:
        """The value of one character, or None when it is no cell."""
        return self._read.get(ch)

    # -- writing ---------------------------------------------------------------------------------------------
    def write(self, grid: np.ndarray) -> str:
        """Grid of task values -> ``rows`` lines of ``cols`` characters."""
        g = np.asarray(grid)
        if g.shape != (self.rows, self.cols):
            raise ValueError(f"{self.task} grid of shape {g.shape}, expected {(self.rows, self.cols)}")
        return "\n".join("".join(self._write.get(v, "?") for v in row) for row in g.tolist())

    def describe(self) -> str:
        """The answer layout in words, for prompts and error messages."""
        return f"{self.rows} lines of {self.cols} characters"

    # -- the prompt ------------------------------------------------------------------------------------------
    def rules(self) -> str:
        """The task's rules in plain words (the generic form has none to state)."""
        return f"Solve this {self.rows}x{self.cols} {self.task} puzzle."

    def prompt(self, question: np.ndarray, demos: Demos | None = None) -> str:
        """The user message for one question, before the tool paragraph."""
        layout = f"{self.describe()}, {self.cell_words}"
        answer = f"Answer format: the solved grid as {layout}, in a code block at the end."
        return "\n\n".join(
            [self.rules(), f"Puzzle ({self.describe()}):\n```\n{self.write(question)}\n```", answer]
        )

    def tool_subject(self) -> str:
        """What the tool solves, in its JSON schema description."""
        return f"a {self.rows}x{self.cols} {self.task} puzzle"

    def tool_returns(self) -> str:
        return "its answer grid and whether the answer obeys the rules"

    def verdict(self, valid: bool) -> str:
        """What the tool tells the LLM about the model's answer."""
        return "obeys the rules" if valid else "does NOT obey the rules"

    # -- reading ---------------------------------------------------------------------------------------------
    def read(self, text: str | None) -> np.ndarray | None:
        """The last grid-shaped block of ``text`` -> grid [rows, cols] of task values, or None."""
        last: list[list[int]] | None = None
        run: list[list[int]] = []
        for line in lines(text):
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
        if not self.packed:
            return separated_cells(text, self.read_char)
        stripped = text.strip()
        if not stripped:
            return None  # a blank line ends a block, even one of exactly ``cols`` spaces
        spaced = len(stripped) == 2 * self.cols - 1 and stripped[1::2].strip() == ""
        for form in (text, stripped, stripped[::2] if spaced else None):
            fits = form is not None and len(form) in (self.cols, self.rows * self.cols)
            if fits and all(self.read_char(ch) is not None for ch in form):
                return [self.read_char(ch) for ch in form]  # type: ignore[misc]
        if stripped and all(ch in "-=+|" for ch in stripped):
            return []  # a separator line
        return None
