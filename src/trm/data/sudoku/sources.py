"""Where Sudoku puzzles come from, read and checked: the Sudoku-Extreme CSV and users' own files.

Design choices:

- Sudoku-Extreme has 3.8M training rows, so :func:`read_hub_csv` reads the CSV in two streaming passes
  (the ratings of every row first, then only the chosen rows) and checks the grids with numpy, never with
  per-puzzle Python. A malformed row is an ``InputError`` naming the file and line (a corrupt download).
- Users' files go through :func:`~trm.data.sudoku.parse_file`: a malformed line, or a CSV answer that
  does not solve its question, is an ``InputError`` naming file, line and column (bad data, not a bad
  puzzle). :func:`check_file` then counts every puzzle's solutions: one with no solution or several, or a
  repeat of an earlier puzzle, is *rejected*: left out and reported as ``Rejected(file, line, reason)``;
  ``strict=True`` makes the first one an error instead. A given answer is checked again against the
  rules and the clues (a reject, should it ever fail).
- Missing answers come from the solver; missing ratings from :func:`~trm.data.sudoku.rate` (guesses of our
  search), which is a different scale from Sudoku-Extreme's tdoku backtracks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from trm.data.errors import InputError
from trm.data.sudoku import box_shape, count_solutions, parse_file, rate, solve, validate

HUB_HEADER = "source,question,answer,rating"


@dataclass
class Rejected:
    """A puzzle left out of the dataset, and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class Pairs:
    """Original puzzles of one split, before augmentation."""

    questions: np.ndarray  # [M, N, N] int64, 0 = blank
    answers: np.ndarray  # [M, N, N] int64
    ratings: np.ndarray  # [M] int64, -1 = unknown


_LUT = np.full(256, 255, np.uint8)  # CSV byte -> cell value (255: not a cell)
_LUT[ord(".")] = _LUT[ord("0")] = 0
for _v in range(1, 10):
    _LUT[ord(str(_v))] = _v


def _complete_and_valid(answers: np.ndarray) -> np.ndarray:
    """answers [M, N, N] -> bool [M]: every row, column and box holds each digit 1..N once."""
    m, n = answers.shape[:2]
    br, bc = box_shape(n)
    boxes = answers.reshape(m, n // br, br, n // bc, bc).transpose(0, 1, 3, 2, 4).reshape(m, n, n)
    want = np.arange(1, n + 1)
    return np.all(
        [(np.sort(u, axis=2) == want).all(axis=(1, 2)) for u in (answers, answers.transpose(0, 2, 1), boxes)],
        axis=0,
    )


def read_hub_csv(path: str | Path, pick: Callable[[np.ndarray], np.ndarray] | None = None) -> Pairs:
    """Rows of a Sudoku-Extreme CSV (``source,question,answer,rating``), checked in bulk.

    ``pick(ratings [R]) -> row indices`` chooses rows from the ratings of all R rows (a first streaming pass);
    without it every row is kept. Raises InputError naming the file and line of a malformed row.
    """
    path = Path(path)
    with path.open("rb") as f:
        header = f.readline().decode("utf-8", errors="replace").strip()
        if header != HUB_HEADER:
            raise InputError(f"expected the header {HUB_HEADER!r}, found {header!r}", file=str(path), line=1)
        keep = None
        if pick is not None:
            all_ratings = []
            for k, row in enumerate(f, start=2):
                try:
                    all_ratings.append(int(row.rsplit(b",", 1)[1]))
                except (ValueError, IndexError):
                    raise InputError(
                        "the last field (rating) is not an integer", file=str(path), line=k
                    ) from None
            keep = np.zeros(len(all_ratings), bool)
            keep[np.asarray(pick(np.array(all_ratings, np.int64)), np.int64)] = True
            f.seek(0)
            f.readline()
        lines, questions, answers, ratings = [], [], [], []
        for k, row in enumerate(f, start=2):
            if keep is not None and not keep[k - 2]:
                continue
            fields = row.rstrip(b"\r\n").split(b",")
            if len(fields) != 4:
                raise InputError(
                    f"expected 4 comma-separated fields, found {len(fields)}", file=str(path), line=k
                )
            lines.append(k)
            questions.append(fields[1])
            answers.append(fields[2])
            try:
                ratings.append(int(fields[3]))
            except ValueError:
                raise InputError("the rating is not an integer", file=str(path), line=k) from None
    if not lines:
        raise InputError("no puzzles in the file", file=str(path))
    n = math.isqrt(len(questions[0]))
    for k, q, a in zip(lines, questions, answers, strict=True):
        if len(q) != n * n or len(a) != n * n:
            raise InputError(f"question and answer must have {n * n} characters", file=str(path), line=k)
    q = _LUT[np.frombuffer(b"".join(questions), np.uint8)].reshape(-1, n, n).astype(np.int64)  # [M, N, N]
    a = _LUT[np.frombuffer(b"".join(answers), np.uint8)].reshape(-1, n, n).astype(np.int64)
    ok = (q <= n).all(axis=(1, 2)) & (a <= n).all(axis=(1, 2)) & ((q == 0) | (q == a)).all(axis=(1, 2))
    ok &= _complete_and_valid(a)
    if not ok.all():
        k = lines[int(np.flatnonzero(~ok)[0])]
        problem = validate(np.where(q <= n, q, 0)[~ok][0], solution=np.where(a <= n, a, 0)[~ok][0])
        raise InputError(
            f"the answer does not solve the question ({(problem or ['bad character'])[0]})",
            file=str(path),
            line=k,
        )
    return Pairs(q, a, np.array(ratings, np.int64))


def _reject_reason(q: np.ndarray, answer: np.ndarray | None, size: int, seen: dict[bytes, int]) -> str | None:
    """Why puzzle ``q`` cannot be used (None: it can); ``seen`` maps earlier puzzles to their lines."""
    if q.shape[0] != size:
        return f"{q.shape[0]}x{q.shape[0]} puzzle in a file of {size}x{size} puzzles"
    if q.tobytes() in seen:
        return f"repeats the puzzle of line {seen[q.tobytes()]}"
    count = count_solutions(q, 2)
    if count == 0:
        return "no solution"
    if count > 1:
        return "several solutions (a puzzle must have exactly one)"
    problems = validate(q, solution=answer) if answer is not None else []
    return f"the given answer does not solve the puzzle: {problems[0]}" if problems else None


def check_file(
    path: str | Path, *, strict: bool = False, progress: bool = False
) -> tuple[Pairs, list[int], list[Rejected]]:
    """Read a puzzle file and keep the puzzles with exactly one solution: (pairs, their lines, rejected).

    Missing answers are solved; given answers must solve the puzzle; missing ratings are computed."""
    file = str(path)
    kept: list[tuple[int, np.ndarray, np.ndarray, int]] = []
    rejected: list[Rejected] = []
    seen: dict[bytes, int] = {}
    size = None
    for p in tqdm(parse_file(path), desc=f"check {Path(path).name}", unit="puzzle", disable=not progress):
        q = np.asarray(p.question, np.int64)
        size = size or q.shape[0]
        reason = _reject_reason(q, p.answer, size, seen)
        if reason is not None:
            if strict:
                raise InputError(reason, file=file, line=p.line)
            rejected.append(Rejected(file, p.line, reason))
            continue
        seen[q.tobytes()] = p.line
        answer = np.asarray(p.answer, np.int64) if p.answer is not None else solve(q)
        kept.append((p.line, q, answer, p.rating if p.rating is not None else rate(q)))
    if not kept:
        raise InputError(
            "no usable puzzle in the file" + (f" ({len(rejected)} rejected)" if rejected else ""), file=file
        )
    lines, qs, as_, rs = zip(*kept, strict=True)
    return Pairs(np.stack(qs), np.stack(as_), np.array(rs, np.int64)), list(lines), rejected
