"""Sudoku grids: reading, writing, checking, and the dataset's token encoding.

Design choices:

- A grid is a numpy ``int64`` array of shape ``(N, N)``: 0 is a blank, 1..N are digits. Sizes are
  4x4 (2x2 boxes), 6x6 (boxes of 2 rows x 3 columns), 9x9 (3x3) and 16x16 (4x4); the box shape is a
  function of N alone (:func:`box_shape`).
- Text alphabet: ``.`` or ``0`` is a blank, ``1``-``9`` are digits, and for 16x16 ``A``-``G`` (or
  ``a``-``g``) are 10..16. So a 16x16 puzzle is 256 characters of ``.0-9A-G``. Letters, or digits
  above N, in a smaller grid are errors.
- Layout is free: one line of N*N cells, or N lines, with or without separators. Separators are
  whitespace, ``|``, ``-``, ``+`` and the Unicode box-drawing characters; every other character is a
  cell. The size is inferred from the number of cells. When the count fits no size, the nearest size is
  assumed for the message (ties: the larger), so an 82-character line points at its 82nd character.
- Every bad input raises :class:`~trm.data.errors.InputError` with the file, line and column (1-based) of
  the offending character: a missing cell points one past the last cell, a duplicate clue points at the
  later cell and its message names both cells (``r1c2`` = row 1, column 2).
- Files (one puzzle per line, blank-line-separated grids, CSV) are read by :mod:`.files`.
- Tokens (the Sudoku-Extreme encoding of the HRM and TRM reference code): blank -> 1, digit d -> d + 1,
  PAD = 0, vocab N + 2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from trm.data.errors import InputError

SIZES = (4, 6, 9, 16)
DIGITS = ".123456789ABCDEFG"  # value v is written DIGITS[v]
_SEPARATORS = frozenset(" \t\r\n\f\v|-+")
_VALUES = {
    ".": 0,
    "0": 0,
    **{c: i for i, c in enumerate(DIGITS) if i},
    **{c.lower(): i for i, c in enumerate(DIGITS) if i > 9},
}


def box_shape(n: int) -> tuple[int, int]:
    """(rows, cols) of a box in an N x N Sudoku: 4 -> (2, 2), 6 -> (2, 3), 9 -> (3, 3), 16 -> (4, 4)."""
    shapes = {4: (2, 2), 6: (2, 3), 9: (3, 3), 16: (4, 4)}
    if n not in shapes:
        raise InputError(f"unsupported Sudoku size {n}; supported: {', '.join(f'{s}x{s}' for s in SIZES)}")
    return shapes[n]


def cell_name(index: int, n: int) -> str:
    """Row-major cell index -> ``r3c7`` (1-based)."""
    return f"r{index // n + 1}c{index % n + 1}"


def _is_separator(ch: str) -> bool:
    return ch in _SEPARATORS or "\u2500" <= ch <= "\u257f"


def _nearest_size(count: int) -> int:
    return min(SIZES, key=lambda s: (abs(s * s - count), -s))


def _first_duplicate(values: Sequence[int], n: int) -> tuple[int, int, str] | None:
    """The first clue (reading order) that repeats an earlier one: (earlier, later, unit name)."""
    br, bc = box_shape(n)
    seen: dict[tuple[str, int, int], int] = {}
    for i, v in enumerate(values):
        if not v:
            continue
        r, c = divmod(i, n)
        units = (("row", r + 1), ("column", c + 1), ("box", (r // br) * (n // bc) + c // bc + 1))
        for kind, k in units:
            if (kind, k, v) in seen:
                return seen[(kind, k, v)], i, f"{kind} {k}"
        for kind, k in units:
            seen[(kind, k, v)] = i
    return None


def _parse_text(text: str, size: int | None, file: str | None, line: int, column: int = 1) -> np.ndarray:
    cells: list[tuple[str, int, int]] = []  # (character, line, column) of every cell character
    lines: list[list[tuple[str, int, int]]] = []
    for k, row in enumerate(text.split("\n")):
        row_cells = [
            (ch, line + k, j + (column if k == 0 else 1)) for j, ch in enumerate(row) if not _is_separator(ch)
        ]
        if row_cells:
            lines.append(row_cells)
            cells.extend(row_cells)
    if not cells:
        raise InputError("no Sudoku cells found", file=file, line=line, column=column)
    count = len(cells)
    root = math.isqrt(count)
    if size is not None:
        n = size
    elif root * root == count and root in SIZES:
        n = root
    elif len(lines) > 1 and len(lines) in SIZES:  # a grid of n lines with a bad line
        n = len(lines)
    else:
        n = _nearest_size(count)
    if n not in SIZES:
        box_shape(n)  # raises the unsupported-size error
    if len(lines) == n:  # a grid of n lines: every line must hold n cells
        for row_cells in lines:
            if len(row_cells) != n:
                _, ln, col = row_cells[n] if len(row_cells) > n else row_cells[-1]
                col = col if len(row_cells) > n else col + 1
                raise InputError(
                    f"row has {len(row_cells)} cells, expected {n}", file=file, line=ln, column=col
                )
    if count != n * n:
        _, ln, col = cells[n * n] if count > n * n else cells[-1]
        col = col if count > n * n else col + 1
        raise InputError(
            f"expected {n * n} cells for a {n}x{n} Sudoku, found {count}", file=file, line=ln, column=col
        )
    values = []
    for ch, ln, col in cells:
        v = _VALUES.get(ch)
        if v is None or v > n:
            raise InputError(
                f"character {ch!r} is not a {n}x{n} Sudoku cell (use . or 0 for blank, 1-{DIGITS[n]})",
                file=file,
                line=ln,
                column=col,
            )
        values.append(v)
    dup = _first_duplicate(values, n)
    if dup is not None:
        a, b, unit = dup
        _, ln_a, col_a = cells[a]
        raise InputError(
            f"clue {DIGITS[values[b]]} at {cell_name(b, n)} repeats {cell_name(a, n)} in {unit} "
            f"(line {ln_a}, column {col_a})",
            file=file,
            line=cells[b][1],
            column=cells[b][2],
        )
    return np.array(values, dtype=np.int64).reshape(n, n)


def _parse_array(obj: object, size: int | None, file: str | None) -> np.ndarray:
    arr = np.asarray(obj)
    if arr.ndim == 1 and math.isqrt(arr.size) ** 2 == arr.size:
        arr = arr.reshape(math.isqrt(arr.size), -1)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] not in SIZES:
        raise InputError(
            f"grid shape {arr.shape} is not one of {', '.join(f'{s}x{s}' for s in SIZES)}", file=file
        )
    n = arr.shape[0]
    if size is not None and n != size:
        raise InputError(f"expected a {size}x{size} grid, got {n}x{n}", file=file)
    integral = np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.bool_)
    if not integral and not (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr))):
        raise InputError(f"grid values must be integers, got dtype {arr.dtype}", file=file)
    arr = arr.astype(np.int64)
    bad = np.argwhere((arr < 0) | (arr > n))
    if len(bad):
        r, c = bad[0]
        raise InputError(f"value {arr[r, c]} at r{r + 1}c{c + 1} is outside 0..{n}", file=file)
    dup = _first_duplicate(arr.ravel().tolist(), n)
    if dup is not None:
        a, b, unit = dup
        raise InputError(
            f"clue {arr.flat[b]} at {cell_name(b, n)} repeats {cell_name(a, n)} in {unit}", file=file
        )
    return arr


def parse(
    text_or_array: str | np.ndarray | Sequence[Sequence[int]],
    *,
    size: int | None = None,
    file: str | None = None,
    line: int | None = None,
) -> np.ndarray:
    """One puzzle from text (one line or N lines, separators allowed) or an array -> grid [N, N] int64.

    ``file`` and ``line`` (the file line where the text starts, default 1) only label errors.
    Raises InputError for a wrong cell count, a character outside the alphabet or a repeated clue.
    """
    if isinstance(text_or_array, str):
        return _parse_text(text_or_array, size, file, line or 1)
    return _parse_array(text_or_array, size, file)


def format_grid(grid: np.ndarray, *, pretty: bool = False) -> str:
    """Grid -> the one-line string (``.`` for blanks), or with ``pretty`` a boxed grid over N lines.

    Both forms read back with :func:`parse`.
    """
    g = np.asarray(grid)
    n = g.shape[0]
    br, bc = box_shape(n)
    if not pretty:
        return "".join(DIGITS[v] for v in g.ravel().tolist())
    rows = []
    for r in range(n):
        if r and r % br == 0:
            rows.append("+".join("-" * (2 * bc + 1) for _ in range(n // bc))[1:-1])
        cells = [DIGITS[v] for v in g[r].tolist()]
        rows.append(" | ".join(" ".join(cells[s : s + bc]) for s in range(0, n, bc)))
    return "\n".join(rows)


def _duplicates(g: np.ndarray, n: int, what: str) -> list[str]:
    br, bc = box_shape(n)
    problems = []
    units = [(f"row {r + 1}", [r * n + c for c in range(n)]) for r in range(n)]
    units += [(f"column {c + 1}", [r * n + c for r in range(n)]) for c in range(n)]
    units += [
        (
            f"box {b + 1}",
            [(b // (n // bc) * br + i) * n + b % (n // bc) * bc + j for i in range(br) for j in range(bc)],
        )
        for b in range(n)
    ]
    flat = g.ravel().tolist()
    for name, cells in units:
        where: dict[int, list[int]] = {}
        for i in cells:
            if flat[i]:
                where.setdefault(flat[i], []).append(i)
        for v, idx in sorted(where.items()):
            if len(idx) > 1:
                cells = ", ".join(cell_name(i, n) for i in idx)
                problems.append(f"{what} {name} has {DIGITS[v]} {len(idx)} times ({cells})")
    return problems


def _shape_problems(g: np.ndarray, what: str) -> list[str]:
    if g.ndim != 2 or g.shape[0] != g.shape[1] or g.shape[0] not in SIZES:
        return [f"{what} shape {g.shape} is not one of {', '.join(f'{s}x{s}' for s in SIZES)}"]
    integral = np.issubdtype(g.dtype, np.integer) or np.issubdtype(g.dtype, np.bool_)
    if not integral and not (np.issubdtype(g.dtype, np.floating) and np.all(g == np.round(g))):
        return [f"{what} values must be integers, got dtype {g.dtype}"]
    bad = np.argwhere((g < 0) | (g > g.shape[0]))
    return [f"{what} value {g[r, c]} at r{r + 1}c{c + 1} is outside 0..{g.shape[0]}" for r, c in bad]


def validate(grid: np.ndarray, *, solution: np.ndarray | None = None) -> list[str]:
    """Rule violations of a grid (empty list: fine). With ``solution``, also check that it is complete,
    valid and keeps every clue of ``grid``."""
    g = np.asarray(grid)
    problems = _shape_problems(g, "puzzle")
    if problems:
        return problems
    n = g.shape[0]
    problems = _duplicates(g, n, "puzzle")
    if solution is None:
        return problems
    s = np.asarray(solution)
    shape_problems = _shape_problems(s, "solution")
    if shape_problems or s.shape != g.shape:
        return problems + (
            shape_problems or [f"solution shape {s.shape} differs from puzzle shape {g.shape}"]
        )
    blanks = np.flatnonzero(s.ravel() == 0)
    if len(blanks):
        problems.append(
            f"solution has {len(blanks)} blanks ({', '.join(cell_name(i, n) for i in blanks[:5])}"
            + (", ..." if len(blanks) > 5 else "")
            + ")"
        )
    problems += _duplicates(s, n, "solution")
    changed = np.flatnonzero((g.ravel() > 0) & (g.ravel() != s.ravel()))
    problems += [
        f"solution changes clue {DIGITS[g.flat[i]]} at {cell_name(i, n)} to {DIGITS[s.flat[i]]}"
        for i in changed
    ]
    return problems


def is_valid_solution(puzzle: np.ndarray, solution: np.ndarray) -> bool:
    """True when ``solution`` is a complete, rule-abiding grid that keeps every clue of ``puzzle``."""
    return not validate(puzzle, solution=solution)


def to_tokens(grid: np.ndarray) -> np.ndarray:
    """Grid [N, N] -> tokens [N*N] uint8: blank -> 1, digit d -> d + 1 (PAD 0 is never produced)."""
    g = np.asarray(grid)
    if g.min(initial=0) < 0 or g.max(initial=0) > 254:
        raise ValueError("grid values must lie in 0..254 to become uint8 tokens")
    return (g.reshape(-1) + 1).astype(np.uint8)


def from_tokens(tokens: np.ndarray, n: int) -> np.ndarray:
    """Tokens [N*N] -> grid [N, N] int64: token t in 2..N+1 -> digit t - 1, anything else -> blank 0."""
    t = np.asarray(tokens).astype(np.int64).reshape(n, n)
    return np.where((t >= 2) & (t <= n + 1), t - 1, 0)
