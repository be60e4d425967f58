"""How a task's grid is written into a prompt, and how a grid is read back out of a free-form reply.

Each task gives its text form (``Task.text_form``, :mod:`trm.data.text_grid`): the layout it writes, the
tolerant reader that takes the last grid-shaped block of a reply, and the words of its prompt and tool.
Sudoku: one line per row, one character per cell; Maze: one line per row over ``# . S G o``; ARC: rows of
digits of any shape; a task without its own form gets the generic one. This module only finds the form.
"""

from __future__ import annotations

from trm.data.tasks import Task, find_task, known_tasks
from trm.data.text_grid import TextForm


def grid_format(task: str | Task, grid_shape: tuple[int, int]) -> TextForm:
    """The text form of ``task``'s grids (a task, or a dataset's ``metadata.task``) of ``grid_shape``."""
    if isinstance(task, str):
        name, task = task, find_task(task)
        if task is None:
            raise ValueError(
                f"no LLM prompt for task {name!r}: no such task; known: {', '.join(known_tasks())}"
            )
    return task.text_form(tuple(int(x) for x in grid_shape))
