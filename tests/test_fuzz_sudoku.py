"""Fuzzing the Sudoku readers: any text or bytes gives a grid or an InputError, never another exception;
every puzzle our writers produce (one line, a drawn grid, a file of lines, grids or CSV) reads back equal."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fuzz_common import FUZZ, input_errors_only, mutate
from trm.data import sudoku
from trm.data.sudoku.grid import DIGITS, SIZES

ALPHABET = DIGITS + "0|-+ \n\t#,"


@st.composite
def puzzles(draw, sizes=SIZES[:3]):
    """(question, solution) of a random size: a patterned solution, shuffled by symmetries, then blanked."""
    n = draw(st.sampled_from(sizes), label="size")
    br, bc = sudoku.box_shape(n)
    r, c = np.indices((n, n))
    solution = (bc * (r % br) + r // br + c) % n + 1  # a valid solved grid for any box shape
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    _, solution = sudoku.augment(solution, solution, rng)
    blanks = np.array(draw(st.lists(st.booleans(), min_size=n * n, max_size=n * n), label="blanks"))
    question = np.where(blanks.reshape(n, n), 0, solution)
    assert sudoku.is_valid_solution(question, solution)
    return question, solution


@FUZZ
@given(st.text(max_size=300) | st.text(alphabet=ALPHABET, max_size=300))
def test_any_text_parses_or_is_an_input_error(text):
    grid = input_errors_only(sudoku.parse, text)
    if grid is not None:
        assert grid.shape[0] in SIZES and grid.shape[0] == grid.shape[1]


@FUZZ
@given(puzzles(), st.booleans(), st.sampled_from((None, *SIZES)), st.data())
def test_damaged_puzzles_parse_or_are_input_errors(puzzle, pretty, size, data):
    text = mutate(sudoku.format_grid(puzzle[0], pretty=pretty), data, ALPHABET)
    grid = input_errors_only(sudoku.parse, text, size=size)
    if grid is not None and size is not None:
        assert grid.shape == (size, size)


@FUZZ
@given(puzzles(), st.booleans())
def test_every_written_puzzle_reads_back(puzzle, pretty):
    question, _ = puzzle
    assert np.array_equal(sudoku.parse(sudoku.format_grid(question, pretty=pretty)), question)


@FUZZ
@given(st.binary(max_size=400) | st.text(alphabet=ALPHABET, max_size=400).map(str.encode))
def test_any_file_reads_or_is_an_input_error(tmp_path, raw):
    path = tmp_path / "puzzles.txt"
    path.write_bytes(raw)
    input_errors_only(sudoku.parse_file, path)


@FUZZ
@given(st.lists(puzzles(sizes=(6,)), min_size=1, max_size=4), st.sampled_from(["lines", "grids", "csv"]))
def test_every_written_file_reads_back(tmp_path, batch, layout):
    fmt = sudoku.format_grid
    if layout == "lines":
        text = "# one puzzle per line\n" + "".join(fmt(q) + "\n" for q, _ in batch)
    elif layout == "grids":
        text = "\n\n".join(fmt(q, pretty=True) for q, _ in batch) + "\n"
    else:
        text = "source,question,answer,rating\n" + "".join(
            f"fuzz,{fmt(q)},{fmt(a)},{k}\n" for k, (q, a) in enumerate(batch)
        )
    path = tmp_path / "puzzles.txt"
    path.write_text(text)
    read = sudoku.parse_file(path)
    assert len(read) == len(batch)
    for got, (q, a) in zip(read, batch, strict=True):
        assert np.array_equal(got.question, q)
        if layout == "csv":
            assert np.array_equal(got.answer, a)
