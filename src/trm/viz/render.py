"""Pictures of puzzles and of a model's refinement: rich terminal text, PNG, animated GIF.

Design choices:

- **Generic over tasks, styled by task name.** A grid is an [rows, cols] array of task values; the task
  name picks how a cell is drawn: Sudoku digits (clues dark, model-filled digits blue, cells that break a
  rule or a clue red), Maze cells (wall / open / S / G / path colours), ARC colours (the 0-9 ARC palette).
  Any other task gets its values as text on a neutral palette; ``symbols`` (a user grid task's own symbol
  of each value, :attr:`trm.inference.trace.Solution.symbols`) replaces the numbers by those symbols.
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

# ARC's colours: 0 black, 1 blue, 2 red, 3 green, 4 yellow, 5 grey, 6 magenta, 7 orange, 8 azure, 9 maroon.
ARC_PALETTE = ("#000000", "#0074D9", "#FF4136", "#2ECC40", "#FFDC00",
               "#AAAAAA", "#F012BE", "#FF851B", "#7FDBFF", "#870C25")  # fmt: skip
# Maze cell codes (= tokens, see trm.data.maze.grid): 0 PAD, 1 wall, 2 open, 3 S, 4 G, 5 path.
MAZE_CHARS = "?# SGo"
MAZE_COLOURS = ("#BBBBBB", "#2B2B2B", "#FFFFFF", "#2ECC40", "#FF4136", "#0074D9")
UNKNOWN_COLOUR = "#DDDDDD"
CHANGED_COLOUR = "#FFE066"
SUDOKU_CLUE, SUDOKU_FILLED, SUDOKU_WRONG = "#111111", "#1F5FBF", "#D62728"


# -- Sudoku rules for colouring ------------------------------------------------------------------------------
def sudoku_box_shape(n: int) -> tuple[int, int]:
    """Box (rows, cols) of an n x n Sudoku: the most square factorisation with rows <= cols."""
    rows = max(d for d in range(1, int(n**0.5) + 1) if n % d == 0)
    return rows, n // rows


def sudoku_conflicts(grid: np.ndarray, question: np.ndarray | None = None) -> np.ndarray:
    """bool [n, n]: filled cells whose digit repeats in their row, column or box, or that change a clue."""
    g = np.asarray(grid, dtype=np.int64)
    n = g.shape[0]
    bad = np.zeros(g.shape, dtype=bool)
    if g.ndim != 2 or g.shape[1] != n or n == 0:
        return bad
    br, bc = sudoku_box_shape(n)
    box = (np.arange(n)[:, None] // br) * (n // bc) + np.arange(n)[None, :] // bc  # [n, n] box id per cell
    for unit in (
        np.broadcast_to(np.arange(n)[:, None], g.shape),
        np.broadcast_to(np.arange(n)[None, :], g.shape),
        box,
    ):
        for u in range(n):
            cells = unit == u
            values = g[cells]
            counts = np.bincount(values, minlength=n + 2)
            bad[cells] |= (values > 0) & (counts[values] > 1)
    if question is not None and np.shape(question) == g.shape:
        q = np.asarray(question)
        bad |= (q > 0) & (q != g)
    return bad


# -- terminal ------------------------------------------------------------------------------------------------
def _cell_text(task: str, value: int, symbols: Sequence[str] | None = None) -> str:
    if symbols is not None:
        return symbols[value] if 0 <= value < len(symbols) else "?"
    if task == "sudoku":
        return "." if value == 0 else (str(value) if value < 10 else chr(ord("A") + value - 10))
    if task == "maze":
        return MAZE_CHARS[value] if 0 <= value < len(MAZE_CHARS) else "?"
    if task == "arc":
        return "  "
    return str(value)


def _cell_style(task: str, value: int, *, clue: bool, changed: bool, wrong: bool) -> str:
    if task == "arc":
        colour = ARC_PALETTE[value] if 0 <= value < 10 else UNKNOWN_COLOUR
        return f"on {colour}" + (" underline bold yellow" if changed else "")
    if wrong:
        return "bold red"
    if changed:
        return "bold yellow"
    if task == "sudoku":
        return "bold" if clue else "cyan"
    if task == "maze":
        return {1: "dim", 3: "bold green", 4: "bold red", 5: "bold cyan"}.get(value, "")
    return ""


def grid_text(
    grid: np.ndarray,
    *,
    task: str = "sudoku",
    question: np.ndarray | None = None,
    changed: np.ndarray | None = None,
    symbols: Sequence[str] | None = None,
) -> Text:
    """A grid as rich Text: clues plain bold, model cells cyan, changed cells bold yellow, rule breaks red."""
    g = np.asarray(grid)
    if g.size == 0:
        return Text("(empty grid)", style="dim")
    q = np.asarray(question) if question is not None and np.shape(question) == g.shape else None
    ch = np.asarray(changed, dtype=bool) if changed is not None and np.shape(changed) == g.shape else None
    wrong = sudoku_conflicts(g, q) if task == "sudoku" else np.zeros(g.shape, dtype=bool)
    rows, cols = g.shape
    box = sudoku_box_shape(rows) if task == "sudoku" and rows == cols else None
    sep = " " if task in ("sudoku",) or (task not in ("maze", "arc") and g.max(initial=0) >= 10) else ""
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
            clue = q is not None and task == "sudoku" and int(q[r, c]) > 0
            style = _cell_style(
                task, value, clue=clue, changed=bool(ch is not None and ch[r, c]), wrong=bool(wrong[r, c])
            )
            out.append(_cell_text(task, value, symbols), style=style)
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


def _colours(task: str, g: np.ndarray) -> np.ndarray:
    """[rows, cols, 3] RGB fill of every cell."""
    if task == "sudoku":
        return np.ones((*g.shape, 3))
    palette = {"maze": MAZE_COLOURS, "arc": ARC_PALETTE}.get(task)
    if palette is None:  # values as text on a light background
        return np.full((*g.shape, 3), 0.97)
    table = np.array([_rgb(c) for c in palette] + [_rgb(UNKNOWN_COLOUR)])
    index = np.where((g >= 0) & (g < len(palette)), g, len(palette))
    return table[index]


def draw_grid(
    ax: Any,
    grid: np.ndarray,
    *,
    task: str = "sudoku",
    question: np.ndarray | None = None,
    changed: np.ndarray | None = None,
    title: str | None = None,
    symbols: Sequence[str] | None = None,
) -> None:
    """Draw one grid on a matplotlib Axes (see the module docstring for the colours)."""
    g = np.asarray(grid, dtype=np.int64)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
    if g.size == 0:
        ax.text(0.5, 0.5, "no grid", ha="center", va="center", transform=ax.transAxes)
        return
    rows, cols = g.shape
    fill = _colours(task, g)
    ch = np.asarray(changed, dtype=bool) if changed is not None and np.shape(changed) == g.shape else None
    if ch is not None:
        highlight = np.array(_rgb(CHANGED_COLOUR))
        fill[ch] = 0.45 * fill[ch] + 0.55 * highlight if task in ("maze", "arc") else highlight
    ax.imshow(fill, interpolation="nearest", extent=(0, cols, rows, 0))
    line = 0.4 if max(rows, cols) > 12 else 0.8
    for x in range(cols + 1):
        ax.axvline(x, color="#888888", linewidth=line)
    for y in range(rows + 1):
        ax.axhline(y, color="#888888", linewidth=line)
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    if task == "sudoku" and rows == cols:
        br, bc = sudoku_box_shape(rows)
        for x in range(0, cols + 1, bc):
            ax.axvline(x, color="#000000", linewidth=2)
        for y in range(0, rows + 1, br):
            ax.axhline(y, color="#000000", linewidth=2)
    if task in ("maze", "arc") or max(rows, cols) > 16:
        return
    q = np.asarray(question) if question is not None and np.shape(question) == g.shape else None
    wrong = sudoku_conflicts(g, q) if task == "sudoku" else np.zeros(g.shape, dtype=bool)
    size = max(5, int(110 / max(rows, cols)))
    for r in range(rows):
        for c in range(cols):
            value = int(g[r, c])
            if task == "sudoku" and value == 0:
                continue
            clue = q is not None and int(q[r, c]) != 0
            colour = (
                SUDOKU_WRONG if wrong[r, c] else SUDOKU_CLUE if clue or task != "sudoku" else SUDOKU_FILLED
            )
            ax.text(
                c + 0.5,
                r + 0.5,
                _cell_text(task, value, symbols),
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
    task: str = "sudoku",
    title: str | None = None,
    symbols: Sequence[str] | None = None,
) -> Path:
    """One grid as a PNG: clues dark, model-filled digits blue, changed cells highlighted."""
    fig, axes = new_figure(3.2, 3.4 if title else 3.2)
    draw_grid(axes[0, 0], grid, task=task, question=question, changed=changed, title=title, symbols=symbols)
    save_figure(fig, Path(path), bbox_inches="tight")
    return Path(path)


def _unpack(trace: Any, question: np.ndarray | None, task: str | None) -> tuple[list[Any], Any, str]:
    """A Solution or a list of Steps -> (steps, question, task)."""
    if hasattr(trace, "trace"):
        question = trace.question if question is None else question
        task = task or trace.task
        trace = trace.trace
    steps = list(trace)
    if not steps:
        raise ValueError("the trace has no steps to draw")
    return steps, question, task or "sudoku"


def _step_title(step: Any) -> str:
    return f"step {step.index}  q={step.q_halt:+.2f}" + ("  valid" if step.valid else "")


def _draw_step(ax: Any, step: Any, question: Any, task: str, symbols: Sequence[str] | None) -> None:
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
    task: str | None = None,
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


def _frame(step: Any, question: Any, task: str, symbols: Sequence[str] | None = None) -> Any:
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
    task: str | None = None,
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
    "sudoku_conflicts",
)
