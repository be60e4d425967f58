"""Pictures of puzzles and of a model's refinement: rich terminal text, PNG, animated GIF.

Design choices:

- **Generic over tasks, styled by the task.** A grid is an [rows, cols] array of task values; the task's
  :class:`~trm.data.grid_style.GridStyle` (``Task.style``) says how a cell is drawn: its text, terminal
  style, fill colour, box lines and rule breaks (Sudoku: clues dark, model-filled digits blue, cells that
  break a rule red; Maze and ARC: a colour per value). ``task`` is a task object, a registered name, or
  None; an unregistered name or None gets the generic style, values as text on a light background.
  ``symbols`` (a user grid task's own symbol of each value, :attr:`trm.inference.trace.Solution.symbols`)
  replaces the numbers by those symbols.
- **Changed cells are marked** everywhere: bold yellow in the terminal, a yellow highlight in pictures.
  ``changed`` is the bool mask of :class:`trm.inference.solver.Step` (cells that differ from the step
  before).
- **matplotlib's Agg canvas through ``matplotlib.figure.Figure``** (no pyplot, so no display, no global
  figure registry and no backend switch for the caller) draws each grid; a refinement strip is a
  grid of subplots and a GIF is one rendered frame per step, assembled by PIL. Every file is written to
  a temporary name and renamed into place.
- This module takes plain arrays or duck-typed Step/Solution objects (``.grid``, ``.changed``, ``.q_halt``,
  ``.valid``, ``.index``; ``.trace``, ``.question``, ``.task``), so it imports no torch.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Group
from rich.text import Text

from trm.data.format import atomic_file
from trm.data.grid_style import GridStyle
from trm.data.tasks import Task, find_task

UNKNOWN_COLOUR = "#DDDDDD"
CHANGED_COLOUR = "#FFE066"
WRONG_COLOUR, CLUE_COLOUR, FILLED_COLOUR = "#D62728", "#111111", "#1F5FBF"
TaskLike = str | Task | None


def style_of(task: TaskLike) -> GridStyle:
    """The style of a task given as an object, a registered name, or None (an unregistered name or None:
    the generic style)."""
    if task is None:
        return GridStyle()
    if isinstance(task, str):
        found = find_task(task)
        return found.style if found is not None else GridStyle()
    return task.style


def _text(style: GridStyle, value: int, symbols: Sequence[str] | None) -> str:
    if symbols is not None:
        return symbols[value] if 0 <= value < len(symbols) else "?"
    return style.cell_text(value)


# -- terminal ------------------------------------------------------------------------------------------------
def grid_text(
    grid: np.ndarray,
    *,
    task: TaskLike = None,
    question: np.ndarray | None = None,
    changed: np.ndarray | None = None,
    symbols: Sequence[str] | None = None,
) -> Text:
    """A grid as rich Text in its task's style: changed cells bold yellow, rule breaks red (Sudoku: clues
    bold, model cells cyan)."""
    g = np.asarray(grid)
    if g.size == 0:
        return Text("(empty grid)", style="dim")
    style = style_of(task)
    q = np.asarray(question) if question is not None and np.shape(question) == g.shape else None
    ch = np.asarray(changed, dtype=bool) if changed is not None and np.shape(changed) == g.shape else None
    wrong = style.conflicts(g, q)
    rows, cols = g.shape
    box = style.boxes(rows, cols)
    sep = style.separator(g)
    if symbols is not None:
        sep = "" if all(len(s) == 1 for s in symbols) else " "
    out = Text()
    for r in range(rows):
        if box and r and r % box[0] == 0:
            out.append(
                "+".join("-" * (2 * box[1] + 1) for _ in range(cols // box[1]))[1:-1] + "\n", style="dim"
            )
        for c in range(cols):
            if box and c and c % box[1] == 0:
                out.append(" |", style="dim")
            if c and sep:
                out.append(sep)
            value = int(g[r, c])
            clue = q is not None and style.marks_clues and int(q[r, c]) > 0
            cell_style = style.term_style(
                value, clue=clue, changed=bool(ch is not None and ch[r, c]), wrong=bool(wrong[r, c])
            )
            out.append(_text(style, value, symbols), style=cell_style)
        if r < rows - 1:
            out.append("\n")
    return out


def _unchanged_line(run: list[Any], halted_at: int | None) -> Text:
    """One line for steps that left the answer as it was: ``steps 4-8: no change, q_halt +5.50``."""
    first, last = run[0].index, run[-1].index
    span = f"step {first}" if first == last else f"steps {first}-{last}"
    line = Text(f"{span}: no change, q_halt {run[-1].q_halt:+.2f}", style="dim")
    if halted_at is not None and first <= halted_at <= last:
        line.append(f"  <- halting head stops at step {halted_at}", style="magenta")
    return line


def trace_text(solution: Any) -> Group:
    """The steps of a Solution while the answer changes: a header (step, q_halt, valid, cells changed) and
    its grid; a run of steps that change nothing is one line."""
    parts: list[Any] = []
    same: list[Any] = []  # consecutive steps after the first that changed no cell
    for step in solution.trace:
        if step.index > 1 and not np.any(step.changed):
            same.append(step)
            continue
        if same:
            parts += [_unchanged_line(same, solution.halted_at), Text("")]
            same = []
        mark = Text("valid", style="bold green") if step.valid else Text("not valid", style="red")
        head = Text(f"step {step.index}  q_halt={step.q_halt:+.2f}  ", style="bold")
        head.append_text(mark)
        head.append(f"  changed {int(np.count_nonzero(step.changed))} cells", style="dim")
        if solution.halted_at == step.index:
            head.append("  <- halting head stops here", style="magenta")
        parts += [
            head,
            grid_text(
                step.grid,
                task=solution.task,
                question=solution.question,
                changed=step.changed,
                symbols=getattr(solution, "symbols", None),
            ),
            Text(""),
        ]
    if same:
        parts.append(_unchanged_line(same, solution.halted_at))
    return Group(*parts)


# -- pictures ------------------------------------------------------------------------------------------------
def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1) -> tuple[Any, np.ndarray]:
    """A matplotlib Figure (Agg canvas; no pyplot, so no global state, no display), Axes [nrows, ncols]."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    h = hex_colour.lstrip("#")
    return tuple(int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _colours(style: GridStyle, g: np.ndarray) -> np.ndarray:
    """[rows, cols, 3] RGB fill of every cell."""
    palette = style.palette
    if palette is None:  # values as text on a plain background
        return np.broadcast_to(np.asarray(style.background, dtype=np.float64), (*g.shape, 3)).copy()
    table = np.array([_rgb(c) for c in palette] + [_rgb(UNKNOWN_COLOUR)])
    index = np.where((g >= 0) & (g < len(palette)), g, len(palette))
    return table[index]


def draw_grid(
    ax: Any,
    grid: np.ndarray,
    *,
    task: TaskLike = None,
    question: np.ndarray | None = None,
    changed: np.ndarray | None = None,
    title: str | None = None,
    symbols: Sequence[str] | None = None,
) -> None:
    """Draw one grid on a matplotlib Axes in its task's style (see the module docstring)."""
    g = np.asarray(grid, dtype=np.int64)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
    if g.size == 0:
        ax.text(0.5, 0.5, "no grid", ha="center", va="center", transform=ax.transAxes)
        return
    rows, cols = g.shape
    style = style_of(task)
    fill = _colours(style, g)
    ch = np.asarray(changed, dtype=bool) if changed is not None and np.shape(changed) == g.shape else None
    if ch is not None:
        highlight = np.array(_rgb(CHANGED_COLOUR))
        fill[ch] = 0.45 * fill[ch] + 0.55 * highlight if style.blend_changed else highlight
    ax.imshow(fill, interpolation="nearest", extent=(0, cols, rows, 0))
    line = 0.4 if max(rows, cols) > 12 else 0.8
    for x in range(cols + 1):
        ax.axvline(x, color="#888888", linewidth=line)
    for y in range(rows + 1):
        ax.axhline(y, color="#888888", linewidth=line)
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    box = style.boxes(rows, cols)
    if box:
        br, bc = box
        for x in range(0, cols + 1, bc):
            ax.axvline(x, color="#000000", linewidth=2)
        for y in range(0, rows + 1, br):
            ax.axhline(y, color="#000000", linewidth=2)
    if not style.draw_values or max(rows, cols) > 16:
        return
    q = np.asarray(question) if question is not None and np.shape(question) == g.shape else None
    wrong = style.conflicts(g, q)
    size = max(5, int(110 / max(rows, cols)))
    for r in range(rows):
        for c in range(cols):
            value = int(g[r, c])
            if style.blank is not None and value == style.blank:
                continue
            clue = q is not None and int(q[r, c]) != 0
            colour = (
                WRONG_COLOUR
                if wrong[r, c]
                else CLUE_COLOUR
                if clue or not style.marks_clues
                else FILLED_COLOUR
            )
            ax.text(
                c + 0.5,
                r + 0.5,
                _text(style, value, symbols),
                ha="center",
                va="center",
                fontsize=size,
                color=colour,
                fontweight="bold" if clue else "normal",
            )


def save_figure(fig: Any, path: Path, **kwargs: Any) -> None:
    with atomic_file(path, "wb") as f:
        fig.savefig(f, format=kwargs.pop("format", "png"), **kwargs)


def render_png(
    grid: np.ndarray,
    path: str | Path,
    *,
    question: np.ndarray | None = None,
    changed: np.ndarray | None = None,
    task: TaskLike = None,
    title: str | None = None,
    symbols: Sequence[str] | None = None,
) -> Path:
    """One grid as a PNG in its task's style, changed cells highlighted."""
    fig, axes = new_figure(3.2, 3.4 if title else 3.2)
    draw_grid(axes[0, 0], grid, task=task, question=question, changed=changed, title=title, symbols=symbols)
    save_figure(fig, Path(path), bbox_inches="tight")
    return Path(path)


def _unpack(trace: Any, question: np.ndarray | None, task: TaskLike) -> tuple[list[Any], Any, TaskLike]:
    """A Solution or a list of Steps -> (steps, question, task)."""
    if hasattr(trace, "trace"):
        question = trace.question if question is None else question
        task = task or trace.task
        trace = trace.trace
    steps = list(trace)
    if not steps:
        raise ValueError("the trace has no steps to draw")
    return steps, question, task


def _step_title(step: Any) -> str:
    return f"step {step.index}  q={step.q_halt:+.2f}" + ("  valid" if step.valid else "")


def _draw_step(ax: Any, step: Any, question: Any, task: TaskLike, symbols: Sequence[str] | None) -> None:
    """One refinement step: its grid, the cells it changed, and its title."""
    draw_grid(
        ax,
        step.grid,
        task=task,
        question=question,
        changed=step.changed,
        title=_step_title(step),
        symbols=symbols,
    )


def refinement_png(
    trace: Any,
    path: str | Path,
    *,
    question: np.ndarray | None = None,
    task: TaskLike = None,
    columns: int = 8,
) -> Path:
    """The answer after every step, left to right in rows of ``columns`` (a Solution or list of Steps)."""
    steps, question, task = _unpack(trace, question, task)
    symbols = getattr(trace, "symbols", None)
    ncols = min(columns, len(steps))
    nrows = -(-len(steps) // ncols)
    fig, axes = new_figure(2.2 * ncols, 2.4 * nrows, nrows, ncols)
    for i, ax in enumerate(axes.ravel()):
        if i < len(steps):
            _draw_step(ax, steps[i], question, task, symbols)
        else:
            ax.axis("off")
    fig.tight_layout()
    save_figure(fig, Path(path))
    return Path(path)


def _frame(step: Any, question: Any, task: TaskLike, symbols: Sequence[str] | None = None) -> Any:
    """One step drawn as a PIL RGB image (fixed size, so every frame of a GIF matches)."""
    from PIL import Image

    fig, axes = new_figure(3.2, 3.5)
    _draw_step(axes[0, 0], step, question, task, symbols)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def refinement_gif(
    trace: Any,
    path: str | Path,
    *,
    question: np.ndarray | None = None,
    task: TaskLike = None,
    duration_ms: int = 600,
) -> Path:
    """An animated GIF with one frame per step (each titled with its step, so no two frames are equal)."""
    steps, question, task = _unpack(trace, question, task)
    frames = [_frame(s, question, task, getattr(trace, "symbols", None)) for s in steps]
    path = Path(path)
    with atomic_file(path, "wb") as f:
        frames[0].save(f, format="GIF", save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    return path


__all__: Sequence[str] = (
    "grid_text",
    "trace_text",
    "draw_grid",
    "render_png",
    "refinement_png",
    "refinement_gif",
    "style_of",
)
