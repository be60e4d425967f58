"""From a request to a question grid, and from a solution to JSON; the limits every request is held to.

Design choices:

- A puzzle is text or a grid (a list of rows of integers). Text is read by the task's own parser
  (``Task.parse``) and never as a file name: a server must not open paths its clients name.
- A grid goes through the same rules as text: its values must survive the task's encode/decode round
  trip (so they are values the task has), then it is drawn with ``Task.render_text`` and parsed back,
  which applies the task's question rules (one S and one G in a maze, no repeated Sudoku clue, ...).
- Every refusal is a :class:`trm.serve.registry.ServeError` with a status and a message in words:
  413 for a body over the limit, 422 for a puzzle that is malformed or does not fit the model, 429 when
  too many solves are waiting. Nothing a client sends should reach the model unchecked.
- ``q_halt`` values that are not finite go out as ``null`` (JSON has no NaN).
- A particle search's particles (and noise trajectories) go out capped (``max_particles_shown`` x
  ``max_particle_steps_shown``), as cells that differ from the answer (:mod:`trm.serve.particles_json`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trm.data.errors import InputError
from trm.inference.solver import Solution
from trm.serve.particles_json import particles_json
from trm.serve.registry import ServedModel, ServeError

_INT_RANGE = 2**31  # grid values beyond this are refused before numpy sees them


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may ask for and how many may wait."""

    max_body_bytes: int = 1 << 20  # request body (413 beyond)
    max_side: int = 30  # rows and columns of a puzzle grid (422 beyond)
    max_steps: int = 64  # supervision steps one request may ask for (422 beyond)
    max_pending: int = 32  # solves waiting or running at once, over all models (429 beyond)
    max_batch: int = 32  # requests solved together in one batch
    max_ttc_candidates: int = 64  # test-time compute: trajectories x copies per request (422 beyond)
    batch_window_s: float = 0.01  # how long the first request of a batch waits for others to join
    max_particles_shown: int = 8  # particle search: particles sent back per response
    max_particle_steps_shown: int = 16  # ... and steps (evenly spaced, first and last kept); >= 2

    def __post_init__(self) -> None:
        for name in (
            "max_body_bytes",
            "max_side",
            "max_steps",
            "max_pending",
            "max_batch",
            "max_ttc_candidates",
            "max_particles_shown",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"limit {name} must be at least 1, got {getattr(self, name)}")
        if self.max_particle_steps_shown < 2:
            raise ValueError(
                f"limit max_particle_steps_shown must be at least 2, got {self.max_particle_steps_shown}"
            )
        if not 0 <= self.batch_window_s <= 1:
            raise ValueError(f"batch_window_s must be in [0, 1] seconds, got {self.batch_window_s}")


def check_steps(steps: int | None, limits: Limits) -> None:
    if steps is not None and not 1 <= steps <= limits.max_steps:
        raise ServeError(422, f"steps must be between 1 and {limits.max_steps}, got {steps}")


def check_ttc(ttc: str, limits: Limits) -> None:
    """Refuse a test-time compute spec that is unreadable or asks for more work than the limits allow."""
    try:
        from trm.inference.ttc.spec import parse_spec
    except ImportError:
        raise ServeError(422, "this version of trm has no test-time compute: leave 'ttc' out") from None
    try:
        spec = parse_spec(ttc)
    except ValueError as e:
        raise ServeError(422, f"bad ttc: {e}") from None
    if spec.candidates > limits.max_ttc_candidates:
        raise ServeError(
            422, f"ttc asks for {spec.candidates} candidates, the limit is {limits.max_ttc_candidates}"
        )
    check_steps(spec.steps, limits)


def _grid_array(rows: list[list[int]], limits: Limits) -> np.ndarray:
    """A list of rows -> int64 array, refusing ragged, empty, oversized or out-of-range grids."""
    if not rows or not all(rows):
        raise ServeError(422, "the puzzle grid is empty: give at least one row of at least one cell")
    if len(rows) > limits.max_side or max(len(r) for r in rows) > limits.max_side:
        raise ServeError(422, f"the puzzle grid is larger than {limits.max_side}x{limits.max_side}")
    for r, row in enumerate(rows):
        if len(row) != len(rows[0]):
            raise ServeError(
                422, f"the puzzle grid is ragged: row {r + 1} has {len(row)} cells, row 1 has {len(rows[0])}"
            )
        for c, v in enumerate(row):
            if not 0 <= v < _INT_RANGE:
                problem = "is negative" if v < 0 else "is out of range"
                raise ServeError(422, f"grid value {v} at row {r + 1}, column {c + 1} {problem}")
    return np.asarray(rows, dtype=np.int64)


def _grid_question(served: ServedModel, grid: np.ndarray) -> np.ndarray:
    """A grid of task values -> the question the task's parser reads from its picture (same rules as text)."""
    task, shape = served.solver.task, tuple(served.solver.metadata.grid_shape)
    tokens = _encode(served, grid)
    back = np.asarray(task.decode(tokens, shape))
    if back.shape != grid.shape or not np.array_equal(back, grid):
        bad = np.argwhere(back != grid)[0] if back.shape == grid.shape else None
        where = f" (first at row {bad[0] + 1}, column {bad[1] + 1})" if bad is not None else ""
        raise ServeError(422, f"the grid holds values that are not {task.name} cells{where}")
    return _parse_text(served, task.render_text(grid))


def _parse_text(served: ServedModel, text: str) -> np.ndarray:
    try:
        return np.asarray(served.solver.task.parse(text))
    except (InputError, ValueError) as e:
        raise ServeError(422, f"bad puzzle: {e}") from None


def _encode(served: ServedModel, question: np.ndarray) -> np.ndarray:
    """Encode for the model, refusing a puzzle of the wrong size or with tokens beyond its vocabulary."""
    meta = served.solver.metadata
    try:
        tokens = np.asarray(served.solver.task.encode(question, tuple(meta.grid_shape)))
    except (InputError, ValueError) as e:
        raise ServeError(422, f"the puzzle does not fit model {served.name!r}: {e}") from None
    if tokens.size and (int(tokens.min()) < 0 or int(tokens.max()) >= meta.vocab_size):
        raise ServeError(
            422,
            f"the puzzle holds values that are not {served.solver.task.name} cells "
            f"(model {served.name!r} has no token for them)",
        )
    return tokens


def read_question(served: ServedModel, puzzle: str | list[list[int]], limits: Limits) -> np.ndarray:
    """The question grid of a request's ``puzzle`` (text or grid), checked against the model."""
    if isinstance(puzzle, str):
        if not puzzle.strip():
            raise ServeError(422, "the puzzle is empty")
        question = _parse_text(served, puzzle)
    else:
        question = _grid_question(served, _grid_array(puzzle, limits))
    if question.ndim != 2 or max(question.shape) > limits.max_side:
        raise ServeError(422, f"the puzzle is larger than {limits.max_side}x{limits.max_side}")
    _encode(served, question)
    return question


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def solution_json(served: ServedModel, solution: Solution, limits: Limits | None = None) -> dict[str, Any]:
    """The API's answer: the last grid, its validity, every step, and where halting would stop.

    With test-time compute the steps are the chosen candidate's, and ``ttc`` says how many candidates
    there were (the trajectories that ran: a gate's plain-answer placeholders are not counted), which one
    was chosen, the network calls spent and whether the search ran (False: a gate kept the plain answer);
    a particle search or noise trajectories add ``particles`` (capped by ``limits``, see
    :mod:`trm.serve.particles_json`)."""
    extra = {}
    if getattr(solution, "candidates", None):
        extra["ttc"] = {
            "candidates": len(solution.candidates),
            "chosen": int(solution.chosen),
            "calls": int(solution.calls),
            "searched": bool(getattr(solution, "searched", True)),
        }
        trace = getattr(solution, "particles", None)
        if trace is not None:
            limits = limits or Limits()
            task, shape = served.solver.task, tuple(served.solver.metadata.grid_shape)
            extra["ttc"]["particles"] = particles_json(
                trace,
                lambda tokens: task.decode(tokens, shape),
                solution.answer,
                max_particles=limits.max_particles_shown,
                max_steps=limits.max_particle_steps_shown,
            )
    return {
        **extra,
        "model": served.name,
        "task": solution.task,
        "question": np.asarray(solution.question).tolist(),
        "answer": np.asarray(solution.answer).tolist(),
        "valid": bool(solution.valid),
        "halt_step": solution.halted_at,
        "steps": [
            {
                "index": s.index,
                "grid": np.asarray(s.grid).tolist(),
                "changed": np.asarray(s.changed).tolist(),
                "q_halt": _finite(s.q_halt),
                "valid": bool(s.valid),
            }
            for s in solution.trace
        ],
    }
