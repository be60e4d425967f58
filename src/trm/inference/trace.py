"""What a solver returns, and how per-step predictions become it: NumPy and the task codecs only, no torch.

The PyTorch :class:`trm.inference.solver.Solver` and the ONNX :class:`trm.runtime.OnnxSolver` share this
module, so both give the same ``Solution`` (answer, validity, step trace, halting step) from the same
per-step tokens and halting signals.

Design choices:

- A *runner* is any function ``tokens [b, L] -> (preds [n, b, L], q_halt [n, b])``: the argmax tokens
  and the halting signal after each of the n supervision steps. :func:`solve_in_batches` parses and
  encodes the puzzles, calls the runner ``batch_size`` rows at a time and builds the solutions, in
  input order. The solvers only differ by their runner.
- The answer is the last step's grid; ``halted_at`` is the first step whose halting signal is > 0
  (where the halting head would have stopped); step 1's changed cells are compared with the question.
- Puzzles may be text, a path to a text file, or an array of task values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trm.data.errors import InputError
from trm.data.format import DatasetMetadata, read_text
from trm.data.tasks import Task

Puzzle = str | Path | np.ndarray | Sequence[Sequence[int]]
Runner = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class Step:
    """The model's answer after one supervision step."""

    index: int  # 1-based supervision step
    grid: np.ndarray  # decoded answer grid (task values)
    changed: np.ndarray  # bool, same shape: cells that differ from the previous step (step 1: the question)
    q_halt: float  # halting logit (Q-learning: q_halt - q_continue); the model would stop here when > 0
    valid: bool  # the grid solves the question by the task's rules


@dataclass
class Solution:
    question: np.ndarray  # the parsed puzzle
    answer: np.ndarray  # the last step's grid
    valid: bool  # the answer solves the question by the task's rules
    trace: list[Step]  # one entry per supervision step
    halted_at: int | None  # first step with q_halt > 0, or None
    task: str  # task name (selects the codec and the colours of pictures)
    symbols: tuple[str, ...] | None = None  # the task's own symbol of each grid value (user grid tasks)


def _is_file(text: str) -> bool:
    """Whether ``text`` names an existing file (puzzle text itself, e.g. a 900-character maze, is not)."""
    if "\n" in text or len(text) > 1024:
        return False
    try:
        return Path(text).is_file()
    except OSError:  # e.g. "File name too long" for a long one-line puzzle
        return False


def _changed(prev: np.ndarray, grid: np.ndarray) -> np.ndarray:
    if prev.shape != grid.shape:  # e.g. an ARC answer whose size changed: every cell is new
        return np.ones(grid.shape, dtype=bool)
    return prev != grid


def parse_puzzle(task: Task, puzzle: Puzzle) -> np.ndarray:
    """Text, a path to a text file, or an array of task values -> question grid.

    Errors in a file's text are placed in that file (``puzzle.txt:2:5: ...``)."""
    if isinstance(puzzle, str) and _is_file(puzzle):
        puzzle = Path(puzzle)
    if isinstance(puzzle, Path):
        try:
            return task.parse(read_text(puzzle))
        except InputError as e:
            if e.file is None:
                raise e.in_file(str(puzzle)) from None
            raise
    if isinstance(puzzle, str):
        return task.parse(puzzle)
    return np.asarray(puzzle)


def build_solution(
    task: Task, metadata: DatasetMetadata, question: np.ndarray, preds: np.ndarray, q_halt: np.ndarray
) -> Solution:
    """preds [n, L] tokens, q_halt [n] of one puzzle -> Solution with its trace."""
    shape = tuple(metadata.grid_shape)
    trace, prev = [], question
    for k, (row, q) in enumerate(zip(preds, q_halt, strict=True)):
        grid = task.decode(row, shape)
        valid = bool(task.is_valid_answer(question, grid))
        trace.append(Step(index=k + 1, grid=grid, changed=_changed(prev, grid), q_halt=float(q), valid=valid))
        prev = grid
    halted_at = next((s.index for s in trace if s.q_halt > 0), None)
    last = trace[-1]
    return Solution(
        question=question,
        answer=last.grid,
        valid=last.valid,
        trace=trace,
        halted_at=halted_at,
        task=metadata.task,
        symbols=task.symbols,
    )


def solve_in_batches(
    task: Task, metadata: DatasetMetadata, puzzles: Sequence[Puzzle], run: Runner, batch_size: int
) -> list[Solution]:
    """Parse and encode ``puzzles``, run them ``batch_size`` at a time, return solutions in input order."""
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    questions = [parse_puzzle(task, p) for p in puzzles]
    shape = tuple(metadata.grid_shape)
    tokens = np.stack([task.encode(q, shape) for q in questions]) if questions else None
    out: list[Solution] = []
    for start in range(0, len(questions), batch_size):
        preds, q_halt = run(tokens[start : start + batch_size])  # [n, b, L], [n, b]
        for j, question in enumerate(questions[start : start + batch_size]):
            out.append(build_solution(task, metadata, question, preds[:, j], q_halt[:, j]))
    return out
