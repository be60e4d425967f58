"""Tasks as plugins: everything a task knows, behind one object, registered by name.

Every task (Sudoku, Maze, ARC, a user's grid task, a task of your own) provides one object with the
:class:`Task` interface; its folder holds the pieces (``trm/data/sudoku/``: codec, augmentation, rendering,
LLM text form, ...). The evaluator, the trainer, the solver, test-time compute, the server, the pictures and
the LLM harness look the task up by the ``task`` field of the dataset metadata and ask it; none of them
compares a task's name. See ``docs/design.md`` ("Tasks as plugins") for how to add one.

Design choices:

- **The codec is required**, the rest optional: :class:`TaskBase` gives every optional capability a generic
  default (plain pictures, a generic LLM text form, no test-time symmetries, no example generator, no extra
  evaluator), so a new task subclasses it and writes only its codec; it overrides a default to do better.
- **The registry holds import strings** (``"module:Class"``), so registering a task imports nothing and a
  task's heavy dependencies load only when it is used. :func:`register_task` takes a user's task from
  outside the package in the same process; for the ``trm`` command, an installed package declares its
  tasks as entry points of the group ``trm.tasks`` (``flip = "my_package.flip:FlipTask"``).
- **Unregistered names still train.** A dataset's task need not be registered to train and evaluate on it
  (exact and token accuracy need no codec): :func:`find_task` returns None for it and callers fall back to
  the generic behaviour; :func:`get_task` raises for it (solving needs a codec).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import numpy as np

from trm.data.augment import AugmentError
from trm.data.grid_style import GridStyle
from trm.data.text_grid import TextForm


@runtime_checkable
class Evaluator(Protocol):
    """A task's own evaluation beside the per-example metrics (the reference code's evaluators: ARC's
    voting over augmented variants). The evaluator calls ``begin`` before an evaluation, ``update`` with
    each part of the predictions, and merges ``result`` into the metrics."""

    def begin(self) -> None: ...

    def update(self, indices: np.ndarray, predictions: np.ndarray, q_halt: np.ndarray) -> None:
        """Example indices [E'], final predicted tokens [E', L], final halting logits [E']."""

    def result(self) -> dict[str, float]: ...


@runtime_checkable
class Task(Protocol):
    name: str

    # -- the codec (required) -----------------------------------------------------------------------------
    def parse(self, text: str) -> np.ndarray:
        """One question from text (a string or file contents) -> grid [rows, cols] of task values."""

    def encode(self, grid: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
        """Grid -> tokens [seq_len] (int), laid out as the dataset stores them."""

    def decode(self, tokens: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
        """Tokens [seq_len] -> grid of task values (the inverse of encode on valid tokens)."""

    def render_text(self, grid: np.ndarray) -> str:
        """A human-readable text picture of a grid (what a person would paste as a question)."""

    def is_valid_answer(self, question: np.ndarray, answer: np.ndarray) -> bool:
        """True when ``answer`` solves ``question`` by the task's rules (not only the stored label)."""

    def metrics(self, inputs: np.ndarray, preds: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        """Task-specific per-example metrics beside exact match: name -> bool [E] (tokens [E, L] in)."""

    # -- optional capabilities (defaults in TaskBase) -----------------------------------------------------
    @property
    def symbols(self) -> tuple[str, ...] | None:
        """The task's own name of each grid value (pictures and the server show them), or None."""

    @property
    def style(self) -> GridStyle:
        """How its cells look in the terminal and in pictures (:mod:`trm.data.grid_style`)."""

    def text_form(self, grid_shape: tuple[int, int]) -> TextForm:
        """How an LLM reads and writes its grids, and the words of the prompt (:mod:`trm.data.text_grid`)."""

    def llm_questions(self, split: Any, data: str, limit: int | None) -> Any:
        """Which examples an LLM is asked, with their demonstrations (``.indices``, ``.demos(i)``,
        ``.identifier(i)``, ``.scores(records)``), or None: every example of the first ``limit`` puzzles."""

    def symmetries(
        self, rng: np.random.Generator, count: int, grid_shape: tuple[int, int], vocab: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """``count`` symmetries of one puzzle in token space for test-time augmentation: positions
        perm [count, L] and token map tmap [count, V], row 0 the identity; raises AugmentError if none."""

    def example(self, grid_shape: tuple[int, int], index: int) -> tuple[np.ndarray, str] | None:
        """A fresh question of this shape for the server's "Load example" (grid, where it came from)."""

    def evaluator(self, data: str, split: str, *, pool_votes: bool = False) -> Evaluator | None:
        """The task's own evaluator of split ``split`` of dataset ``data``, or None."""


class TaskBase:
    """Generic defaults of every optional :class:`Task` capability; subclass it and write the codec."""

    name = "task"

    @property
    def symbols(self) -> tuple[str, ...] | None:
        return None

    @property
    def style(self) -> GridStyle:
        return GridStyle()

    def text_form(self, grid_shape: tuple[int, int]) -> TextForm:
        rows, cols = (int(x) for x in grid_shape)
        return TextForm(self.name, rows, cols)

    def llm_questions(self, split: Any, data: str, limit: int | None) -> Any:
        return None

    def symmetries(
        self, rng: np.random.Generator, count: int, grid_shape: tuple[int, int], vocab: int
    ) -> tuple[np.ndarray, np.ndarray]:
        raise AugmentError(f"test-time augmentation is not defined for task {self.name!r}")

    def example(self, grid_shape: tuple[int, int], index: int) -> tuple[np.ndarray, str] | None:
        return None

    def evaluator(self, data: str, split: str, *, pool_votes: bool = False) -> Evaluator | None:
        return None


_REGISTRY: dict[str, str] = {
    "sudoku": "trm.data.sudoku.task:SudokuTask",
    "maze": "trm.data.maze.task:MazeTask",
    "arc": "trm.data.arc.task:ArcTask",
    "grid": "trm.data.grid.task:GridTask",
}


def register_task(name: str, target: str) -> None:
    """Register ``module:Class`` as task ``name`` (for users' own tasks; subclass :class:`TaskBase`)."""
    if target.count(":") != 1:
        raise ValueError(f"a task is registered as 'module:Class', got {target!r}")
    _REGISTRY[name] = target


ENTRY_POINT_GROUP = "trm.tasks"


@lru_cache(maxsize=1)
def _installed() -> dict[str, str]:
    """Tasks that installed packages declare as entry points (name -> ``module:Class``), read once a process
    (reading them scans every installed distribution)."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _target(name: str) -> str | None:
    return _REGISTRY.get(name) or _installed().get(name)


def known_tasks() -> list[str]:
    return sorted({*_REGISTRY, *_installed()})


def get_task(name: str, metadata: Any = None) -> Task:
    """Task ``name``. Tasks that depend on the dataset (a user's vocabulary: ``grid``) define
    ``from_metadata``; given the split's ``metadata``, it builds the task. Other tasks ignore it. Every task
    can also be built without metadata (``cls()``), for callers that know only the name (pictures, prompts);
    its codec may then refuse what needs the dataset."""
    target = _target(name)
    if target is None:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(known_tasks())}")
    module, cls_name = target.split(":")
    cls = getattr(import_module(module), cls_name)
    task = cls.from_metadata(metadata) if metadata is not None and hasattr(cls, "from_metadata") else cls()
    if not isinstance(task, Task):
        missing = [m for m in _members() if not hasattr(task, m)]
        raise TypeError(
            f"task {name!r} ({target}) lacks {', '.join(missing)}; "
            "subclass trm.data.tasks.TaskBase for the optional ones"
        )
    return task


def find_task(name: str, metadata: Any = None) -> Task | None:
    """:func:`get_task`, or None when no task is registered under ``name``."""
    return get_task(name, metadata) if _target(name) is not None else None


def _members() -> list[str]:
    return sorted(n for n in dir(Task) if not n.startswith("_")) + ["name"]
