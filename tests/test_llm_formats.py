"""Reading answer grids out of free-form LLM replies, and the prompts that ask for them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_common import FUZZ
from trm.data.arc.llm import ArcForm as ArcFormat
from trm.data.maze.generate import generate_records
from trm.data.sudoku import format_grid, generate
from trm.llm.formats import grid_format
from trm.llm.prompts import messages_for, user_prompt


@pytest.fixture(scope="module")
def sudoku():
    return generate(9, count=3, seed=5)


SUDOKU9 = grid_format("sudoku", (9, 9))


def test_write_then_read_is_the_identity(sudoku):
    for p in sudoku:
        for grid in (p.puzzle, p.solution):
            assert np.array_equal(SUDOKU9.read(SUDOKU9.write(grid)), grid)
    maze = generate_records(2, side=9, seed=1)
    fmt = grid_format("maze", (9, 9))
    for rec in maze:
        for grid in (rec.question, rec.answer):
            text = fmt.write(grid)
            assert " " not in text  # open cells are written '.', so nothing depends on spaces
            assert np.array_equal(fmt.read(text), grid)


def test_the_last_grid_of_a_reply_is_the_answer(sudoku):
    p = sudoku[0]
    reply = (
        f"The puzzle is\n```\n{SUDOKU9.write(p.puzzle)}\n```\nLet me think. Row 1 needs a 4...\n"
        f"Final answer:\n```\n{format_grid(p.solution, pretty=True)}\n```\n"
    )
    assert np.array_equal(SUDOKU9.read(reply), p.solution)


@pytest.mark.parametrize(
    "layout",
    [
        lambda g: "\n".join(" ".join(map(str, row)) for row in g),  # spaced digits
        lambda g: "\n".join(str(list(row)) + "," for row in g.tolist()),  # JSON rows
        lambda g: "\n".join("| " + " | ".join(map(str, row)) + " |" for row in g),  # markdown table rows
        lambda g: "\n".join(f"Row {r + 1}: {''.join(map(str, row))}" for r, row in enumerate(g)),  # labels
        lambda g: "answer: " + "".join(str(v) for v in g.ravel()),  # one line of 81 cells
    ],
)
def test_tolerant_layouts(sudoku, layout):
    g = sudoku[1].solution
    assert np.array_equal(SUDOKU9.read("Here you go.\n" + layout(g) + "\nDone."), g)


def test_no_grid_of_the_right_shape_reads_as_none(sudoku):
    g = sudoku[2].solution
    rows = SUDOKU9.write(g).split("\n")
    assert SUDOKU9.read("I cannot solve this puzzle.") is None
    assert SUDOKU9.read("") is None and SUDOKU9.read(None) is None
    assert SUDOKU9.read("\n".join(rows[:8])) is None  # one row short
    assert SUDOKU9.read("\n".join(r[:8] for r in rows)) is None  # one column short
    assert SUDOKU9.read("\n".join(rows[:4] + ["", *rows[4:]])) is None  # a blank line splits the block
    # a truncated answer after a full question: the question is the last complete grid
    q = SUDOKU9.write(sudoku[2].puzzle)
    assert np.array_equal(SUDOKU9.read(q + "\n\n" + "\n".join(rows[:5])), sudoku[2].puzzle)


def test_maze_rows_with_spaces_or_dots():
    rec = generate_records(1, side=9, seed=2)[0]
    fmt = grid_format("maze", (9, 9))
    dotted = fmt.write(rec.answer)
    spaced_open = dotted.replace(".", " ")  # the dataset's own alphabet: open cells are spaces
    cell_gaps = "\n".join(" ".join(row) for row in dotted.split("\n"))  # "# . S ..."
    for text in (dotted, spaced_open, cell_gaps, "```\n" + dotted + "\n```"):
        assert np.array_equal(fmt.read(text), rec.answer)
    assert fmt.read(dotted.replace("#", "X", 1)) is None  # an unknown symbol breaks the block


def test_prompts_state_rules_and_format(sudoku):
    fmt = grid_format("sudoku", (9, 9))
    text = user_prompt(fmt, sudoku[0].puzzle)
    assert "3x3 box" in text and "9 lines of 9 characters" in text and "solve_puzzle" not in text
    assert np.array_equal(fmt.read(text), sudoku[0].puzzle)  # the only grid in the prompt is the question
    with_tool = messages_for(fmt, sudoku[0].puzzle, with_tool=True)
    assert [m["role"] for m in with_tool] == ["system", "user"] and "solve_puzzle" in with_tool[1]["content"]
    maze = grid_format("maze", (9, 9))
    assert "shortest path" in user_prompt(maze, generate_records(1, side=9, seed=2)[0].question)
    assert grid_format("arc", (30, 30)).task == "arc"
    with pytest.raises(ValueError, match="no LLM prompt for task 'chess': no such task"):
        grid_format("chess", (8, 8))


# Prose that holds no cell of any format: letters other than the maze's S, G, o and the Sudoku's a-g.
PROSE = st.lists(st.text(alphabet="hijklmnpqrstuvwxyzHIJKLMNOPQRTUVWXYZ ,;:!?()", max_size=30), max_size=3)
FORMATS = {
    "sudoku": (grid_format("sudoku", (9, 9)), st.integers(1, 9), (9, 9)),
    "maze": (grid_format("maze", (6, 6)), st.sampled_from([1, 2, 3, 4, 5]), (6, 6)),
}


@FUZZ
@given(data=st.data(), task=st.sampled_from(["sudoku", "maze", "arc"]), before=PROSE, after=PROSE)
def test_a_grid_among_prose_reads_back(data, task, before, after):
    if task == "arc":
        fmt = ArcFormat()
        shape = (data.draw(st.integers(1, 6), label="rows"), data.draw(st.integers(1, 6), label="cols"))
        cell = st.integers(0, 9)
    else:
        fmt, cell, shape = FORMATS[task]
    grid = np.array(data.draw(st.lists(cell, min_size=shape[0] * shape[1], max_size=shape[0] * shape[1])))
    grid = grid.reshape(shape)
    fence = ["```"] if data.draw(st.booleans(), label="fenced") else []
    text = "\n".join([*before, *fence, fmt.write(grid), *fence, *after])
    assert np.array_equal(fmt.read(text), grid)


@FUZZ
@given(text=st.text(max_size=400), task=st.sampled_from(["sudoku", "maze", "arc"]))
def test_reading_any_text_gives_none_or_a_grid_of_the_task(text, task):
    fmt = ArcFormat() if task == "arc" else FORMATS[task][0]
    grid = fmt.read(text)
    if grid is None:
        return
    if task == "arc":
        assert 1 <= grid.shape[0] <= 30 and 1 <= grid.shape[1] <= 30 and grid.max() <= 9
    else:
        assert grid.shape == FORMATS[task][2]
        assert set(np.unique(grid)) <= ({*range(10)} if task == "sudoku" else {1, 2, 3, 4, 5})
