"""Maze text layout: parsing, formatting, validation errors that name the place."""

import numpy as np
import pytest

from trm.data.errors import InputError
from trm.data.maze.grid import (
    GOAL,
    OPEN,
    PATH,
    START,
    WALL,
    check_answer,
    format_maze,
    parse_maze,
    question_of,
    render_maze,
)

ROWS = ["#####", "#S  #", "# # #", "#  G#", "#####"]
FLAT = "".join(ROWS)


def test_flat_and_multiline_text_give_the_same_grid_and_round_trip():
    g = parse_maze(FLAT)
    assert g.shape == (5, 5) and g.dtype == np.uint8
    assert g[1, 1] == START and g[3, 3] == GOAL and g[0, 0] == WALL and g[1, 2] == OPEN
    assert np.array_equal(parse_maze("\n".join(ROWS) + "\n"), g)
    assert format_maze(g) == FLAT
    assert render_maze(g) == "\n".join(ROWS)


def test_hub_sized_maze_parses_with_required_side():
    text = "#" * 900
    text = "S" + text[1:-1] + "G"
    assert parse_maze(text, side=30).shape == (30, 30)
    with pytest.raises(InputError, match="expected 29x29"):
        parse_maze(text, side=29)


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        (FLAT[:7] + "x" + FLAT[8:], 8, "unknown character 'x' (maze row 2, column 3)"),
        (FLAT[:7] + "S" + FLAT[8:], 8, "exactly one 'S', found 2"),
        (FLAT[:7] + "o" + FLAT[8:], 8, "must not contain path cells"),
    ],
)
def test_errors_name_file_line_and_column(text, column, fragment):
    with pytest.raises(InputError) as e:
        parse_maze(text, file="m.csv", line=4)
    assert e.value.file == "m.csv" and e.value.line == 4 and e.value.column == column
    assert fragment in str(e.value)
    assert str(e.value).startswith(f"m.csv:4:{column}: ")


def test_missing_goal_length_and_shape_errors():
    with pytest.raises(InputError, match="exactly one 'G', found 0"):
        parse_maze(FLAT.replace("G", " "))
    with pytest.raises(InputError, match="24 characters, not a square"):
        parse_maze(FLAT[:-1])
    with pytest.raises(InputError) as e:
        parse_maze("\n".join([ROWS[0], ROWS[1], "# #", ROWS[3], ROWS[4]]), file="m.txt", line=1)
    assert e.value.line == 3 and "row 3 has 3 characters" in str(e.value)
    with pytest.raises(InputError) as e:
        parse_maze("\n".join(ROWS[:2] + ["# x #"] + ROWS[3:]), file="m.txt", line=10)
    assert (e.value.line, e.value.column) == (12, 3)


def test_answer_must_keep_cells_and_mark_a_path():
    q = parse_maze(FLAT)
    a = q.copy()
    a[1, 2] = a[1, 3] = a[2, 3] = PATH
    check_answer(q, a)  # valid
    assert np.array_equal(question_of(a), q)
    broken = a.copy()
    broken[1, 3] = OPEN
    with pytest.raises(InputError, match="not a path from S to G"):
        check_answer(q, broken, file="f.csv", line=3)
    walled = a.copy()
    walled[2, 2] = PATH  # a wall marked as path
    with pytest.raises(InputError) as e:
        check_answer(q, walled, file="f.csv", line=3, column_offset=100)
    assert e.value.column == 100 + 2 * 5 + 2 + 1 and "from '#' to 'o'" in str(e.value)
    no_start = a.copy()
    no_start[1, 1] = PATH
    with pytest.raises(InputError, match="from 'S' to 'o'"):
        check_answer(q, no_start)
