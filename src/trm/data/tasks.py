"""Task codecs: how a task's grids become tokens and back, and what "a right answer" means.

Every task (Sudoku, Maze, ARC, a user's own) provides one object with this interface, registered by
name below. The evaluator, the solver and the pictures look a task up by the ``task`` field of the
dataset metadata, so adding a task touches no model or training code.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Task(Protocol):
    name: str

    def parse(self, text: str) -> np.ndarray:
        """One question from text (a string or file contents) -> grid [rows, cols] of task values."""

    def encode(self, grid: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
        """Grid -> tokens [seq_len] (int), laid out as the dataset stores them."""

    def decode(self, tokens: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
        """Tokens [seq_len] -> grid of task values (the inverse of encode on valid tokens)."""

    def render_text(self, grid: np.ndarray) -> str:
        """A human-readable text picture of a grid."""

    def is_valid_answer(self, question: np.ndarray, answer: np.ndarray) -> bool:
        """True when ``answer`` solves ``question`` by the task's rules (not only the stored label)."""

    def metrics(self, inputs: np.ndarray, preds: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        """Task-specific per-example metrics beside exact match: name -> bool [E] (tokens [E, L] in)."""


_REGISTRY: dict[str, str] = {
    "sudoku": "trm.data.sudoku.task:SudokuTask",
    "maze": "trm.data.maze.task:MazeTask",
    "arc": "trm.data.arc.task:ArcTask",
    "grid": "trm.data.grid.task:GridTask",
}


def register_task(name: str, target: str) -> None:
    """Register ``module:Class`` as the codec of task ``name`` (for users' own tasks)."""
    _REGISTRY[name] = target


def get_task(name: str, metadata: Any = None) -> Task:
    """The codec of task ``name``. Codecs that depend on the dataset (a user's vocabulary: ``grid``) define
    ``from_metadata``; given the split's ``metadata``, it builds the codec. Other codecs ignore it."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    module, cls_name = _REGISTRY[name].split(":")
    cls = getattr(import_module(module), cls_name)
    if metadata is not None and hasattr(cls, "from_metadata"):
        return cls.from_metadata(metadata)
    return cls()
