"""Pictures and terminal rendering: files are valid PNG/GIF, frames and colours are what we asked for."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from trm.data.arc.render import PALETTE as ARC_PALETTE
from trm.data.errors import InputError
from trm.data.sudoku import format_grid, generate
from trm.data.sudoku.render import conflicts as sudoku_conflicts
from trm.viz.plots import read_metrics_jsonl, training_curves_png
from trm.viz.render import (
    grid_text,
    refinement_gif,
    refinement_png,
    render_png,
    trace_text,
)


@dataclass
class Step:
    index: int
    grid: np.ndarray
    changed: np.ndarray
    q_halt: float
    valid: bool


@dataclass
class Solution:
    question: np.ndarray
    answer: np.ndarray
    valid: bool
    trace: list
    halted_at: int | None
    task: str


@pytest.fixture(scope="module")
def sudoku6():
    g = generate(6, count=1, seed=3)[0]
    return g.puzzle, g.solution


def fake_solution(question, solution, steps=3, task="sudoku"):
    """Blanks get filled a third at a time; the last step is the solution."""
    blanks = np.flatnonzero(question.ravel() == 0)
    trace, prev = [], question
    for k in range(1, steps + 1):
        grid = question.copy().ravel()
        done = blanks[: len(blanks) * k // steps]
        grid[done] = solution.ravel()[done]
        grid = grid.reshape(question.shape)
        trace.append(Step(k, grid, grid != prev, float(k - 2), k == steps))
        prev = grid
    return Solution(question, trace[-1].grid, True, trace, 3, task)


def test_sudoku_text_matches_the_toolkit_layout(sudoku6):
    puzzle, solution = sudoku6
    assert grid_text(solution, task="sudoku").plain == format_grid(solution, pretty=True)
    assert grid_text(puzzle, task="sudoku").plain == format_grid(puzzle, pretty=True)


def test_changed_cells_are_bold_yellow_and_conflicts_red(sudoku6):
    puzzle, solution = sudoku6
    changed = puzzle != solution
    text = grid_text(solution, task="sudoku", question=puzzle, changed=changed)
    yellow = [s for s in text.spans if str(s.style) == "bold yellow"]
    assert len(yellow) == int(changed.sum())
    wrong = solution.copy()
    r, c = np.argwhere(puzzle > 0)[0]
    wrong[r, c] = wrong[r, c] % 6 + 1  # changes a clue and duplicates a digit
    red = [s for s in grid_text(wrong, task="sudoku", question=puzzle).spans if str(s.style) == "bold red"]
    assert len(red) >= 2


def test_sudoku_conflicts(sudoku6):
    puzzle, solution = sudoku6
    assert not sudoku_conflicts(solution, puzzle).any()
    bad = solution.copy()
    bad[0, 0], bad[0, 1] = bad[0, 1], bad[0, 0]  # swapping two cells of a row breaks their columns/boxes
    mask = sudoku_conflicts(bad)
    assert mask[0, 0] and mask[0, 1]
    changed_clue = solution.copy()
    r, c = np.argwhere(puzzle > 0)[0]
    changed_clue[r, c] = 0
    assert sudoku_conflicts(changed_clue, puzzle)[r, c]


def test_trace_text_lists_every_step(sudoku6):
    sol = fake_solution(*sudoku6, steps=4)
    console = Console(record=True, width=100)
    console.print(trace_text(sol))
    plain = console.export_text()
    for k in range(1, 5):
        assert f"step {k}" in plain
    assert "halting head stops here" in plain


def test_trace_text_folds_steps_that_change_nothing_into_one_line(sudoku6):
    sol = fake_solution(*sudoku6, steps=3)
    last = sol.trace[-1]
    for k in range(4, 9):  # steps 4-8 repeat the answer, the halting logit keeps rising
        sol.trace.append(Step(k, last.grid, np.zeros_like(last.changed), float(k) - 2.5, True))
    sol.halted_at = 5
    console = Console(record=True, width=100)
    console.print(trace_text(sol))
    plain = console.export_text()
    assert "steps 4-8: no change, q_halt +5.50  <- halting head stops at step 5" in plain
    assert all(f"step {k}  " in plain for k in (1, 2, 3))
    assert all(f"step {k}  " not in plain for k in range(4, 9))
    grid_lines = grid_text(last.grid, task="sudoku").plain.splitlines()
    assert plain.count(grid_lines[0]) == 3  # one grid per changing step, none for the repeats


def test_png_is_written_and_valid(tmp_path, sudoku6):
    puzzle, solution = sudoku6
    out = render_png(
        solution, tmp_path / "a" / "grid.png", task="sudoku", question=puzzle, changed=puzzle != solution
    )
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] > 50 and im.size[1] > 50
    assert not list((tmp_path / "a").glob(".*tmp"))  # no temporary left behind


def test_refinement_pictures(tmp_path, sudoku6):
    sol = fake_solution(*sudoku6, steps=5)
    strip = refinement_png(sol, tmp_path / "strip.png", columns=3)
    with Image.open(strip) as im:
        assert im.format == "PNG" and im.size[0] > im.size[1]  # 3 columns x 2 rows
    gif = refinement_gif(sol, tmp_path / "steps.gif")
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 5
    one = refinement_gif(sol.trace[:1], tmp_path / "one.gif", question=sol.question, task="sudoku")
    with Image.open(one) as im:
        assert im.n_frames == 1
    with pytest.raises(ValueError, match="no steps"):
        refinement_png([], tmp_path / "none.png")


def _centre_colour(path):
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    h, w, _ = rgb.shape
    return rgb[h // 2, w // 2].astype(int)


@pytest.mark.parametrize("colour", [1, 2, 4])
def test_arc_cells_use_the_arc_palette(tmp_path, colour):
    path = render_png(np.full((3, 3), colour), tmp_path / "arc.png", task="arc")
    want = np.array([int(ARC_PALETTE[colour][i : i + 2], 16) for i in (1, 3, 5)])
    assert np.abs(_centre_colour(path) - want).max() <= 8


def test_maze_cells_use_the_maze_colours(tmp_path):
    maze = np.full((5, 5), 1)  # walls
    path = render_png(maze, tmp_path / "maze.png", task="maze")
    assert _centre_colour(path).max() < 80  # dark wall
    maze[2, 2] = 2  # open
    assert _centre_colour(render_png(maze, tmp_path / "maze2.png", task="maze")).min() > 200
    assert grid_text(np.array([[1, 2], [3, 5]]), task="maze").plain == "# \nSo"


def test_training_curves(tmp_path):
    log = tmp_path / "metrics.jsonl"
    rows = [
        {"step": s, "epoch": s / 10, "kind": "train", "loss": 2.0 / s, "lr": 1e-3, "exact_accuracy": s / 100}
        for s in range(1, 50)
    ]
    rows += [
        {"step": 25, "epoch": 2.5, "kind": "eval", "exact_accuracy": 0.4},
        {"step": 49, "epoch": 4.9, "kind": "eval", "exact_accuracy": 0.8},
    ]
    log.write_text(
        "".join(json.dumps(r) + "\n" for r in rows) + '{"step": 50, "kind": "tra'
    )  # killed mid-write
    assert len(read_metrics_jsonl(tmp_path)) == len(rows)
    out = training_curves_png(log, tmp_path / "curves.png")
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == (1000, 700)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"step": 1}\nnot json\n{"step": 2}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2:1: not JSON"):
        read_metrics_jsonl(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    training_curves_png(empty, tmp_path / "empty.png")  # panels say "no data" instead of failing
    assert (tmp_path / "empty.png").stat().st_size > 0


def test_arc_answers_that_change_size_or_have_no_grid(tmp_path):
    """An ARC prediction may have no grid (0x0) or change size between steps; both still draw."""
    empty = np.zeros((0, 0), dtype=np.uint8)
    assert grid_text(empty, task="arc").plain == "(empty grid)"
    steps = [
        Step(1, empty, np.zeros((0, 0), bool), -1.0, False),
        Step(2, np.full((2, 3), 4), np.ones((2, 3), bool), 0.5, False),
        Step(3, np.full((3, 3), 4), np.ones((3, 3), bool), 1.5, True),
    ]
    gif = refinement_gif(steps, tmp_path / "arc.gif", question=np.zeros((3, 3), int), task="arc")
    with Image.open(gif) as im:
        assert im.n_frames == 3
    with Image.open(render_png(empty, tmp_path / "empty.png", task="arc")) as im:
        assert im.format == "PNG"
