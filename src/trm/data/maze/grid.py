"""Maze grids: parse, format and validate the hub's text layout.

Design choices:

- A maze is a square numpy grid [side, side] of uint8 *cell codes* that are also the model's tokens:
  ``#`` wall = 1, `` `` open = 2, ``S`` start = 3, ``G`` goal = 4, ``o`` path = 5, and 0 = PAD (not a
  cell). Keeping codes equal to tokens makes encode/decode a reshape and a picture of a model's raw
  output (PAD included) still drawable.
- Text layout (the hub's ``sapientinc/maze-30x30-hard-1k``): one row-major string of side*side
  characters over ``# SGo`` (900 for 30x30). We also read multi-line text (one row per line), which is
  how a person writes a maze for ``trm solve``.
- A question has exactly one S and one G and no ``o``. An answer keeps every cell of its question
  (walls, S and G included) and marks with ``o`` the open cells strictly between S and G on a path;
  this is the hub's convention (S and G stay visible in the answer).
- Every bad input raises :class:`trm.data.errors.InputError` naming file, line and column; for a
  one-line maze string the column is the 1-based character position, and the message adds the maze
  row and column.
"""

from __future__ import annotations

import math

import numpy as np

from trm.data.errors import InputError

CHARSET = "# SGo"
PAD, WALL, OPEN, START, GOAL, PATH = 0, 1, 2, 3, 4, 5
VOCAB_SIZE = 6
HUB_SIDE = 30

_CHAR_TO_CODE = {ch: i + 1 for i, ch in enumerate(CHARSET)}
_CODE_TO_CHAR = np.array(["?"] + list(CHARSET))  # PAD or anything unknown draws as "?"
_LUT = np.zeros(256, dtype=np.uint8)  # byte -> code, 0 = not a maze character
for _ch, _code in _CHAR_TO_CODE.items():
    _LUT[ord(_ch)] = _code


def _where(pos: int, side: int) -> str:
    return f"(maze row {pos // side + 1}, column {pos % side + 1})"


def parse_maze(
    text: str,
    *,
    side: int | None = None,
    answer: bool = False,
    file: str | None = None,
    line: int | None = None,
) -> np.ndarray:
    """Text -> grid [side, side] uint8 of cell codes; one S, one G, only ``# SGo``.

    ``text`` is either one row-major string (hub layout, its length a square) or several lines of equal
    length (trailing newline and surrounding blank lines ignored). ``answer`` allows ``o`` cells.
    ``side`` (if given) is the required side length. ``file``/``line`` place the errors.
    """
    rows = [r for r in text.replace("\r\n", "\n").split("\n")]
    while rows and rows[-1] == "":
        rows.pop()
    while rows and rows[0] == "":
        rows.pop(0)
        line = None if line is None else line + 1
    if not rows:
        raise InputError("empty maze", file=file, line=line)
    multiline = len(rows) > 1
    if multiline:
        for i, r in enumerate(rows):
            if len(r) != len(rows[0]):
                raise InputError(
                    f"maze row {i + 1} has {len(r)} characters, row 1 has {len(rows[0])}",
                    file=file,
                    line=None if line is None else line + i,
                )
        if len(rows) != len(rows[0]):
            raise InputError(f"maze is {len(rows)}x{len(rows[0])}, it must be square", file=file, line=line)
    flat = "".join(rows)
    n = math.isqrt(len(flat))
    if n * n != len(flat) or n < 2:
        raise InputError(
            f"maze has {len(flat)} characters, not a square number like 900 (30x30)", file=file, line=line
        )
    if side is not None and n != side:
        raise InputError(
            f"maze is {n}x{n}, expected {side}x{side} ({side * side} characters)", file=file, line=line
        )

    def place(pos: int) -> dict:
        if multiline:
            return {"file": file, "line": None if line is None else line + pos // n, "column": pos % n + 1}
        return {"file": file, "line": line, "column": pos + 1}

    try:
        raw = np.frombuffer(flat.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError as e:
        raise InputError(
            f"non-ASCII character {flat[e.start]!r} {_where(e.start, n)}", **place(e.start)
        ) from None
    grid = _LUT[raw]
    bad = np.flatnonzero(grid == PAD)
    if bad.size:
        p = int(bad[0])
        raise InputError(
            f"unknown character {flat[p]!r} {_where(p, n)}; mazes use only {CHARSET!r}", **place(p)
        )
    if not answer:
        paths = np.flatnonzero(grid == PATH)
        if paths.size:
            p = int(paths[0])
            raise InputError(f"a question must not contain path cells 'o' {_where(p, n)}", **place(p))
    for code, name in ((START, "S"), (GOAL, "G")):
        hits = np.flatnonzero(grid == code)
        if hits.size != 1:
            where = place(int(hits[1])) if hits.size > 1 else {"file": file, "line": line}
            extra = f"; the second is {_where(int(hits[1]), n)}" if hits.size > 1 else ""
            raise InputError(f"maze must have exactly one {name!r}, found {hits.size}{extra}", **where)
    return grid.reshape(n, n).copy()


def format_maze(grid: np.ndarray) -> str:
    """Grid -> the hub's one-line row-major string (PAD and unknown codes become ``?``)."""
    g = np.asarray(grid).reshape(-1)
    safe = np.where((g >= 1) & (g <= len(CHARSET)), g, 0)
    return "".join(_CODE_TO_CHAR[safe])


def render_maze(grid: np.ndarray) -> str:
    """Grid -> multi-line text, one row per line (what ``trm solve`` prints)."""
    g = np.asarray(grid)
    flat = format_maze(g)
    cols = g.shape[-1]
    return "\n".join(flat[i : i + cols] for i in range(0, len(flat), cols))


def find_cell(grid: np.ndarray, code: int) -> tuple[int, int]:
    """(row, col) of the single cell with ``code`` (S or G); ValueError if not exactly one."""
    hits = np.argwhere(np.asarray(grid) == code)
    if len(hits) != 1:
        raise ValueError(f"expected exactly one cell with code {code}, found {len(hits)}")
    return int(hits[0][0]), int(hits[0][1])


def question_of(answer: np.ndarray) -> np.ndarray:
    """The question an answer belongs to: its ``o`` cells turned back into open cells."""
    q = np.array(answer, dtype=np.uint8, copy=True)
    q[q == PATH] = OPEN
    return q


def check_answer(
    question: np.ndarray,
    answer: np.ndarray,
    *,
    file: str | None = None,
    line: int | None = None,
    column_offset: int = 0,
) -> None:
    """Raise InputError unless ``answer`` keeps every cell of ``question`` and its ``o`` cells form a
    simple path of open cells from S to G (see :func:`trm.data.maze.metrics.is_valid_path`).

    Columns in errors are 1-based positions in the answer string, plus ``column_offset``.
    """
    from trm.data.maze.metrics import path_problem

    q, a = np.asarray(question), np.asarray(answer)
    if q.shape != a.shape:
        raise InputError(
            f"answer is {a.shape[0]}x{a.shape[1]}, question is {q.shape[0]}x{q.shape[1]}",
            file=file,
            line=line,
        )
    side = q.shape[1]
    changed = np.flatnonzero(
        (q.reshape(-1) != a.reshape(-1)) & ~((q.reshape(-1) == OPEN) & (a.reshape(-1) == PATH))
    )
    if changed.size:
        p = int(changed[0])
        qc, ac = format_maze(q.reshape(-1)[p : p + 1]), format_maze(a.reshape(-1)[p : p + 1])
        raise InputError(
            f"answer changes cell {_where(p, side)} from {qc!r} to {ac!r}; it may only mark open cells 'o'",
            file=file,
            line=line,
            column=column_offset + p + 1,
        )
    problem = path_problem(q, a)
    if problem is not None:
        message, pos = problem
        raise InputError(
            f"answer's 'o' cells are not a path from S to G: {message}"
            + (f" {_where(pos, side)}" if pos is not None else ""),
            file=file,
            line=line,
            column=None if pos is None else column_offset + pos + 1,
        )
