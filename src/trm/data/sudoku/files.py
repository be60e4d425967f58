"""Reading Sudoku files: one puzzle per line, blank-line-separated grids, or Sudoku-Extreme CSV.

Design choices:

- Three layouts, told apart by content. A first non-comment line that is a comma-separated header
  with a ``question`` column means CSV (the Sudoku-Extreme layout ``source,question,answer,rating``;
  ``answer``, ``rating`` and ``source`` are optional columns). Otherwise the file is cut into blocks at
  blank lines: a block of N lines of N cells (separators allowed) is one grid; a block whose lines each
  hold a whole puzzle (16, 36, 81 or 256 cells) is one puzzle per line. Lines starting with ``#`` are
  comments. Cell alphabet and layout rules are those of :func:`trm.data.sudoku.grid.parse`.
- Files are checked in bulk with numpy (alphabet, repeated clues, answers that complete their question);
  only a row that fails is re-read character by character, so that the InputError names the exact
  file, line and column (1-based; a CSV column counts from the start of the line).
- ``Puzzle.line`` is the 1-based line where a puzzle starts, so users can find it again. An empty CSV
  ``answer`` or ``rating`` field reads as None. Fields are split on commas (no quoting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trm.data.errors import InputError
from trm.data.format import read_text
from trm.data.sudoku.grid import _VALUES, SIZES, _is_separator, _parse_text, box_shape, validate

_LENGTHS = tuple(n * n for n in SIZES)  # cells of a whole puzzle on one line
_LUT = np.full(256, 255, np.uint8)  # byte -> value (255: not in the alphabet); used by the bulk readers
for _c, _v in _VALUES.items():
    _LUT[ord(_c)] = _v


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
        n_by_n = len(block) in SIZES and all(c == len(block) for c in counts)  # N lines of N cells
        if len(block) == 1 or (not n_by_n and all(c in _LENGTHS for c in counts)):
            singles.extend(block)
        else:  # a grid (a malformed one raises with the place of its bad line)
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
            fast[j]
            if ok[j]
            else None
            if not texts[j].strip()
            else _parse_text(texts[j], None, file, k, start[j])
            for j, (k, _) in enumerate(rows)
        ]

    questions = grids("question")
    for (k, fields), q in zip(rows, questions, strict=True):
        if q is None:
            raise InputError(
                "empty question",
                file=file,
                line=k,
                column=sum(len(x) + 1 for x in fields[: col["question"]]) + 1,
            )
    answers = grids("answer") if "answer" in col else [None] * len(rows)
    found = []
    for (k, fields), q, a in zip(rows, questions, answers, strict=True):
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
    lines = read_text(path).split("\n")  # bytes that are not UTF-8: an InputError naming the file
    for k, text in enumerate(lines, start=1):
        if text.strip() and not text.lstrip().startswith("#"):
            if "," in text and "question" in text.lower():
                if "question" not in [h.strip().lower() for h in text.split(",")]:
                    raise InputError("CSV header needs a 'question' column", file=str(path), line=k)
                return _read_csv(lines, k, str(path))
            break
    return _read_lines(lines, str(path))
