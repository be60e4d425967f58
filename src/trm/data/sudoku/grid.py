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
- :func:`parse_file` reads three layouts: one puzzle per line, multi-line grids separated by blank lines
  (a block of N lines of N cells is one grid), and CSV with the Sudoku-Extreme header
  ``source,question,answer,rating``. Lines starting with ``#`` are comments. Files are checked in bulk
  with numpy; only a bad row is re-read character by character to name the exact place.
- Tokens (the dataset encoding of SPEC section 1): blank -> 1, digit d -> d + 1, PAD = 0, vocab N + 2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
_LUT = np.full(256, 255, np.uint8)  # byte -> value (255: not in the alphabet); used by the bulk readers
for _c, _v in _VALUES.items():
    _LUT[ord(_c)] = _v


def box_shape(n: int) -> tuple[int, int]:
    """(rows, cols) of a box in an N x N Sudoku: 4 -> (2, 2), 6 -> (2, 3), 9 -> (3, 3), 16 -> (4, 4)."""
    shapes = {4: (2, 2), 6: (2, 3), 9: (3, 3), 16: (4, 4)}
    if n not in shapes:
        raise ValueError(f"unsupported Sudoku size {n}; supported: {', '.join(f'{s}x{s}' for s in SIZES)}")
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
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.bool_)):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(arr == np.round(arr)):
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


@dataclass
class Puzzle:
    """One puzzle read from a file. ``line`` is the 1-based file line where it starts."""

    question: np.ndarray  # [N, N] int64, 0 = blank
    answer: np.ndarray | None = None  # [N, N] int64, complete
    rating: int | None = None
    source: str | None = None
    line: int = 0


def _bulk_bad_rows(grids: np.ndarray) -> np.ndarray:
    """grids [M, N, N] (values checked) -> bool [M]: rows with a repeated digit in a row, column or box."""
    m, n = grids.shape[0], grids.shape[1]
    br, bc = box_shape(n)
    boxes = grids.reshape(m, n // br, br, n // bc, bc).transpose(0, 1, 3, 2, 4).reshape(m, n, n)
    bad = np.zeros(m, dtype=bool)
    for units in (grids, grids.transpose(0, 2, 1), boxes):  # [M, unit, cell]
        s = np.sort(units, axis=2)
        bad |= ((s[:, :, 1:] == s[:, :, :-1]) & (s[:, :, 1:] > 0)).any(axis=(1, 2))
    return bad


def _bulk_parse(strings: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """N*N-character strings -> (grids [M, N, N] int64, ok [M] bool); a row not ok must be re-parsed."""
    raw = np.frombuffer("".join(strings).encode("latin-1", errors="replace"), np.uint8)
    if raw.size != len(strings) * n * n:  # a non-ASCII character changed the length: check row by row
        return np.zeros((len(strings), n, n), np.int64), np.zeros(len(strings), bool)
    vals = _LUT[raw].reshape(len(strings), n, n)
    ok = (vals <= n).all(axis=(1, 2))
    grids = np.where(vals <= n, vals, 0).astype(np.int64)
    ok &= ~_bulk_bad_rows(grids)
    return grids, ok


def _grid_string(text: str) -> str:
    return "".join(ch for ch in text if not _is_separator(ch))


def _read_lines(lines: list[str], file: str) -> list[Puzzle]:
    """One-per-line puzzles and blank-line-separated grids."""
    blocks: list[list[tuple[int, str]]] = [[]]
    for k, text in enumerate(lines, start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            if blocks[-1]:
                blocks.append([])
        elif _grid_string(text):
            blocks[-1].append((k, text))
    singles: list[tuple[int, str]] = []  # (line, text) of one-line puzzles
    grids: list[tuple[int, str]] = []  # (first line, text) of multi-line grids
    for block in filter(None, blocks):
        counts = [len(_grid_string(t)) for _, t in block]
        if len(block) == 1 or (
            any(c != len(block) for c in counts) and all(c in (16, 36, 81, 256) for c in counts)
        ):
            singles.extend(block)
        else:
            grids.append((block[0][0], "\n".join(t for _, t in block)))
    found: list[Puzzle] = []
    by_length: dict[int, list[tuple[int, str]]] = {}
    for ln, text in singles:
        by_length.setdefault(len(text.strip()), []).append((ln, text))
    for length, rows in by_length.items():
        n = math.isqrt(length)
        if n * n == length and n in SIZES and all(len(t.strip()) == len(_grid_string(t)) for _, t in rows):
            qs, ok = _bulk_parse([t.strip() for _, t in rows], n)
        else:
            qs, ok = None, np.zeros(len(rows), bool)
        for i, (ln, text) in enumerate(rows):
            q = qs[i] if ok[i] else _parse_text(text, None, file, ln)
            found.append(Puzzle(question=q, line=ln))
    found += [Puzzle(question=_parse_text(text, None, file, ln), line=ln) for ln, text in grids]
    found.sort(key=lambda p: p.line)
    return found


def _read_csv(lines: list[str], header_line: int, file: str) -> list[Puzzle]:
    header = [h.strip().lower() for h in lines[header_line - 1].split(",")]
    col = {name: header.index(name) for name in ("source", "question", "answer", "rating") if name in header}
    rows = [(k, t.rstrip("\r").split(",")) for k, t in enumerate(lines[header_line:], start=header_line + 1)]
    rows = [(k, f) for k, f in rows if any(x.strip() for x in f)]
    for k, fields in rows:
        if len(fields) != len(header):
            raise InputError(
                f"expected {len(header)} comma-separated fields, found {len(fields)}", file=file, line=k
            )
    if not rows:
        return []

    def grids(name: str) -> list[np.ndarray]:
        i = col[name]
        texts = [f[i] for _, f in rows]
        n = math.isqrt(len(texts[0]))
        fast, ok = (
            _bulk_parse(texts, n)
            if all(len(t) == n * n for t in texts) and n in SIZES
            else (None, np.zeros(len(texts), bool))
        )
        start = [sum(len(x) + 1 for x in f[:i]) + 1 for _, f in rows]  # 1-based column of the field
        return [
            fast[j] if ok[j] else _parse_text(texts[j], None, file, k, start[j])
            for j, (k, _) in enumerate(rows)
        ]

    questions = grids("question")
    answers = grids("answer") if "answer" in col else [None] * len(rows)
    found = []
    for (k, fields), q, a in zip(rows, questions, answers):
        if a is not None and (a.shape != q.shape or not (a > 0).all() or not (a[q > 0] == q[q > 0]).all()):
            problems = validate(q, solution=a)
            raise InputError(
                f"answer does not solve the question: {problems[0]}",
                file=file,
                line=k,
                column=sum(len(x) + 1 for x in fields[: col["answer"]]) + 1,
            )
        rating = None
        if "rating" in col and fields[col["rating"]].strip():
            try:
                rating = int(fields[col["rating"]])
            except ValueError:
                raise InputError(
                    f"rating {fields[col['rating']]!r} is not an integer",
                    file=file,
                    line=k,
                    column=sum(len(x) + 1 for x in fields[: col["rating"]]) + 1,
                ) from None
        source = fields[col["source"]] if "source" in col else None
        found.append(Puzzle(question=q, answer=a, rating=rating, source=source, line=k))
    return found


def parse_file(path: str | Path) -> list[Puzzle]:
    """Read every puzzle of a text or CSV file (layouts in the module docstring), in file order."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    for k, text in enumerate(lines, start=1):
        if text.strip() and not text.lstrip().startswith("#"):
            if "," in text and "question" in text.lower():
                if "question" not in [h.strip().lower() for h in text.split(",")]:
                    raise InputError("CSV header needs a 'question' column", file=str(path), line=k)
                return _read_csv(lines, k, str(path))
            break
    return _read_lines(lines, str(path))


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
                problems.append(
                    f"{what} {name} has {DIGITS[v]} {len(idx)} times ({', '.join(cell_name(i, n) for i in idx)})"
                )
    return problems


def _shape_problems(g: np.ndarray, what: str) -> list[str]:
    if g.ndim != 2 or g.shape[0] != g.shape[1] or g.shape[0] not in SIZES:
        return [f"{what} shape {g.shape} is not one of {', '.join(f'{s}x{s}' for s in SIZES)}"]
    if not np.issubdtype(g.dtype, np.integer):
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
