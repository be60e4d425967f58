"""Fuzzing the Maze readers: any text or bytes gives mazes or an InputError, never another exception;
every maze our writers produce (the hub's one-line string, drawn rows, a CSV of questions and answers)
reads back equal."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fuzz_common import FUZZ, input_errors_only, mutate
from trm.data.maze.build import read_csv, write_csv
from trm.data.maze.generate import generate_records
from trm.data.maze.grid import CHARSET, format_maze, parse_maze, render_maze

ALPHABET = CHARSET + '\n,"?x'
RECORDS = generate_records(6, side=7, min_path_len=4, seed=5)  # small valid mazes with shortest-path answers


def _sample(k: int, n: int = 2):
    return [RECORDS[(k + i) % len(RECORDS)] for i in range(n)]


@FUZZ
@given(st.text(max_size=200) | st.text(alphabet=ALPHABET, max_size=200), st.booleans())
def test_any_text_parses_or_is_an_input_error(text, answer):
    grid = input_errors_only(parse_maze, text, answer=answer)
    if grid is not None:
        assert grid.ndim == 2 and grid.shape[0] == grid.shape[1]


@FUZZ
@given(st.integers(0, len(RECORDS) - 1), st.booleans(), st.booleans(), st.data())
def test_damaged_mazes_parse_or_are_input_errors(k, drawn, answer, data):
    r = RECORDS[k]
    grid = r.answer if answer else r.question
    text = mutate(render_maze(grid) if drawn else format_maze(grid), data, ALPHABET)
    input_errors_only(parse_maze, text, answer=answer, side=data.draw(st.sampled_from([None, 7, 30])))


@FUZZ
@given(st.integers(0, len(RECORDS) - 1), st.booleans())
def test_every_written_maze_reads_back(k, drawn):
    r = RECORDS[k]
    for grid, answer in ((r.question, False), (r.answer, True)):
        text = render_maze(grid) if drawn else format_maze(grid)
        assert np.array_equal(parse_maze(text, answer=answer), grid)


@FUZZ
@given(st.binary(max_size=300) | st.text(alphabet=ALPHABET, max_size=300).map(str.encode))
def test_any_csv_reads_or_is_an_input_error(tmp_path, raw):
    path = tmp_path / "mazes.csv"
    path.write_bytes(raw)
    input_errors_only(read_csv, path)


@FUZZ
@given(st.integers(0, len(RECORDS) - 1), st.data())
def test_damaged_csv_reads_or_is_an_input_error(tmp_path, k, data):
    path = write_csv(tmp_path / "mazes.csv", _sample(k))
    path.write_bytes(
        mutate(path.read_text(), data, ALPHABET).encode("utf-8", "surrogatepass")
    )  # may be bad UTF-8
    input_errors_only(read_csv, path)


@FUZZ
@given(st.integers(0, len(RECORDS) - 1), st.integers(1, 3))
def test_every_written_csv_reads_back(tmp_path, k, n):
    records = _sample(k, n)
    read = read_csv(write_csv(tmp_path / "mazes.csv", records))
    assert len(read) == n
    for got, want in zip(read, records, strict=True):
        assert np.array_equal(got.question, want.question) and np.array_equal(got.answer, want.answer)
        assert (got.source, got.rating) == (want.source, want.rating)
