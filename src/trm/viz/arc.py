"""A picture of an ARC task: its demonstration pairs, a test input, the true output, the prediction and the
top voted candidates (votes and mean sigmoid(q_halt) in the titles), as one PNG.

Design choices: built on :mod:`trm.viz.render` (ARC's style, ``ArcTask.style``; matplotlib ``Figure`` with
the Agg canvas, no pyplot; written atomically). Rows: one per demonstration pair (input, output), then the
test row (input, truth when known, the prediction when given, then the candidates best first; a correct one
is marked).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trm.data.arc.task import ArcTask
from trm.data.arc.tasks_io import ArcTaskData
from trm.viz.render import draw_grid, new_figure, save_figure

STYLE_TASK = ArcTask()  # every grid of an ARC task is drawn in ARC's style


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return a is not None and b is not None and a.shape == b.shape and bool(np.array_equal(a, b))


def task_png(
    task: ArcTaskData,
    path: str | Path,
    *,
    test_index: int = 0,
    prediction: np.ndarray | None = None,
    candidates: Sequence[Any] = (),
    max_candidates: int = 4,
    title: str | None = None,
) -> Path:
    """Draw ``task`` with test input ``test_index``; ``candidates`` are voting candidates (``.grid``,
    ``.count``, ``.mean_q``) best first. Returns the written path."""
    if not 0 <= test_index < task.num_test:
        raise ValueError(f"task {task.name} has {task.num_test} test inputs, asked for {test_index}")
    truth = task.test_outputs[test_index] if task.test_outputs is not None else None
    cands = list(candidates)[:max_candidates]
    test_row: list[tuple[np.ndarray, str]] = [(task.test_inputs[test_index], f"test {test_index} input")]
    if truth is not None:
        test_row.append((truth, "true output"))
    if prediction is not None:
        mark = " (right)" if _same(prediction, truth) else (" (wrong)" if truth is not None else "")
        test_row.append((np.asarray(prediction), f"prediction{mark}"))
    for rank, c in enumerate(cands):
        mark = " (right)" if _same(c.grid, truth) else ""
        test_row.append((c.grid, f"#{rank + 1}: {c.count} votes, q {c.mean_q:.2f}{mark}"))
    ncols = max(2, len(test_row))
    nrows = task.num_train + 1
    fig, axes = new_figure(2.2 * ncols, 2.3 * nrows + (0.4 if title else 0), nrows=nrows, ncols=ncols)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(task.num_train):
        for j, (grid, name) in enumerate(
            ((task.train_inputs[i], "input"), (task.train_outputs[i], "output"))
        ):
            axes[i, j].axis("on")
            draw_grid(axes[i, j], grid, task=STYLE_TASK, title=f"demo {i} {name}")
    for j, (grid, name) in enumerate(test_row):
        axes[-1, j].axis("on")
        draw_grid(axes[-1, j], grid, task=STYLE_TASK, title=name)
    fig.suptitle(title or f"ARC task {task.name}", fontsize=10)
    save_figure(fig, Path(path), bbox_inches="tight")
    return Path(path)
