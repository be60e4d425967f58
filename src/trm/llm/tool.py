"""The ``solve_puzzle`` tool: an LLM hands a puzzle to a tiny recursive model and reads its answer.

Design choices:

- **The LLM passes the puzzle itself**, as text in the prompt's layout (it may mis-copy it; the journal
  records whether the grid it sent equals the question, as ``tool_input_matches``). The text is read with
  the same tolerant reader as replies (:mod:`trm.llm.formats`).
- **The answer is what** :meth:`trm.inference.solver.Solver.solve` **gives** (all N supervision steps,
  the evaluation protocol), written in the same layout, plus whether it obeys the task's rules
  (``Solver``'s ``valid``): a real tool can check rules, and the LLM is told to use that.
- Bad arguments (missing ``puzzle``, a grid of the wrong shape, unknown tool name) return an error text to
  the LLM instead of raising, so the model can recover; the journal keeps the error.
- The task's text form words the tool (what it solves, what it says of its answer: ARC can only say whether
  the answer is a well-formed grid). ARC: the tool solves with the identity variant's puzzle identifier
  (the caller passes it).
- One lock serialises calls into the model: requests run in threads, the model is shared.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from trm.data.text_grid import TextForm
from trm.llm.clients import ToolCall

TOOL_NAME = "solve_puzzle"


def tool_spec(fmt: TextForm) -> dict:
    """The tool's JSON schema in the layout both Ollama and OpenAI-compatible servers accept."""
    what, returns = fmt.tool_subject(), fmt.tool_returns()
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": (
                f"Solve {what} with a small neural network trained on such puzzles. Returns {returns}."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "puzzle": {
                        "type": "string",
                        "description": f"The grid, {fmt.describe()}, exactly as in the question.",
                    }
                },
                "required": ["puzzle"],
            },
        },
    }


@dataclass
class ToolResult:
    text: str  # what the LLM reads
    ok: bool  # the tool ran the model
    input_matches: bool  # the grid the LLM sent equals the question
    answer: str | None = None  # the model's answer grid, in the prompt layout
    valid: bool | None = None  # the model's answer obeys the rules
    error: str | None = None

    def to_record(self, call: ToolCall) -> dict[str, Any]:
        return {
            "name": call.name,
            "arguments": call.arguments,
            "ok": self.ok,
            "input_matches": self.input_matches,
            "answer": self.answer,
            "valid": self.valid,
            "error": self.error,
        }


class SolvePuzzleTool:
    """``solve_puzzle(puzzle: str)`` backed by a loaded :class:`~trm.inference.solver.Solver`."""

    def __init__(self, solver: Any, fmt: TextForm) -> None:
        shape = tuple(solver.metadata.grid_shape)
        wanted = shape if fmt.shape is None else fmt.shape  # None: any grid on the model's canvas (ARC)
        if solver.metadata.task != fmt.task or shape != wanted:
            raise ValueError(
                f"the tool's checkpoint solves {solver.metadata.task} {shape}, "
                f"the data is {fmt.task} {wanted}"
            )
        self.solver, self.fmt = solver, fmt
        self._lock = threading.Lock()

    def parameters(self) -> int:
        from trm.models.cost import count_parameters

        return int(count_parameters(self.solver.model))

    def spec(self) -> dict:
        return tool_spec(self.fmt)

    def __call__(self, call: ToolCall, question: np.ndarray, *, identifier: int = 0) -> ToolResult:
        """Run one call about ``question``; ``identifier`` is the puzzle's embedding row (ARC variants)."""
        if call.name != TOOL_NAME:
            return _error(f"unknown tool {call.name!r}; the only tool is {TOOL_NAME}")
        puzzle = call.arguments.get("puzzle")
        if not isinstance(puzzle, str):
            return _error("solve_puzzle needs the argument 'puzzle': the grid as a string")
        grid = self.fmt.read(puzzle)
        if grid is None:
            return _error(f"could not read a puzzle from 'puzzle': expected {self.fmt.describe()}")
        matches = bool(np.array_equal(grid, question))
        try:
            with self._lock:
                solution = self.solver.solve(grid, puzzle_identifier=identifier)
        except ValueError as e:  # the codec rejects the grid (InputError is a ValueError)
            return _error(f"the model cannot read this puzzle: {e}", input_matches=matches)
        answer = self.fmt.write(solution.answer)
        text = f"```\n{answer}\n```\nThe model's answer {self.fmt.verdict(bool(solution.valid))}."
        return ToolResult(
            text=text, ok=True, input_matches=matches, answer=answer, valid=bool(solution.valid)
        )


def _error(message: str, *, input_matches: bool = False) -> ToolResult:
    return ToolResult(text=f"error: {message}", ok=False, input_matches=input_matches, error=message)
