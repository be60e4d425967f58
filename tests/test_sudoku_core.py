"""Sudoku core: parsing (with exact error places), writing, validation, tokens, solving, counting, rating."""

from __future__ import annotations

import numpy as np
import pytest

from trm.data.errors import InputError
from trm.data.sudoku import (
    augment,
    box_shape,
    count_solutions,
    format_grid,
    from_tokens,
    is_valid_solution,
    parse,
    parse_file,
    rate,
    solve,
    to_tokens,
    validate,
)

# Famous hard 9x9 puzzles (unique solutions; checked below, not trusted).
AI_ESCARGOT = "1....7.9..3..2...8..96..5....53..9...1..8...26....4...3......1..4......7..7...3.."
GOLDEN_NUGGET = ".......39.....1..5..3.5.8....8.9...6.7...2...1..4.......9.8..5..2....6..4..7....."
INKALA_2012 = "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4.."
EASTER_MONSTER = "1.......2.9.4...5...6...7...5.9.3.......7.......85..4.7.....6...3...9.8...2.....1"
# The Wikipedia example: singles alone solve it.
EASY = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
# Two solutions: 1 and 3 can swap in r1c1, r1c3, r2c1, r2c3 (a 4x4 "deadly pattern").
TWO_WAY_4X4 = ".2.4.4.221434321"
HARD = [AI_ESCARGOT, GOLDEN_NUGGET, INKALA_2012, EASTER_MONSTER]


def test_box_shape():
    assert [box_shape(n) for n in (4, 6, 9, 16)] == [(2, 2), (2, 3), (3, 3), (4, 4)]
    with pytest.raises(ValueError, match="unsupported"):
        box_shape(8)


@pytest.mark.parametrize("text", HARD)
def test_famous_hard_puzzles_have_one_solution_that_keeps_the_clues(text):
    puzzle = parse(text)
    solution = solve(puzzle)
    assert solution is not None
    assert validate(puzzle, solution=solution) == []
    assert count_solutions(puzzle, limit=5) == 1


def test_rate_is_deterministic_and_documented_values_hold():
    assert [rate(parse(t)) for t in HARD] == [10, 190, 89, 94]  # regression: see solver docstring
    assert rate(parse(AI_ESCARGOT)) == rate(parse(AI_ESCARGOT))


def test_rate_is_zero_when_singles_solve_it():
    easy = parse(EASY)
    assert rate(easy) == 0
    full = solve(easy)
    assert rate(full) == 0
    one_blank = full.copy()
    one_blank[4, 4] = 0
    assert rate(one_blank) == 0 and (solve(one_blank) == full).all()


def test_multi_solution_puzzle_counts_two_and_solve_returns_a_valid_one():
    puzzle = parse(TWO_WAY_4X4)
    assert count_solutions(puzzle, limit=10) == 2
    assert count_solutions(puzzle) == 2
    assert count_solutions(puzzle, limit=1) == 1
    assert is_valid_solution(puzzle, solve(puzzle))
    empty = np.zeros((9, 9), dtype=np.int64)
    assert count_solutions(empty) == 2 and is_valid_solution(empty, solve(empty))


def test_count_solutions_of_the_empty_4x4_is_288():
    assert count_solutions(np.zeros((4, 4), dtype=np.int64), limit=10_000) == 288


def test_unsolvable_rule_consistent_puzzle():
    # AI Escargot has one solution with 4 at r9c9; a 9 there repeats nothing, so there is no solution,
    # and proving it takes the search many guesses.
    puzzle = parse(AI_ESCARGOT)
    assert solve(puzzle)[8, 8] != 9
    puzzle[8, 8] = 9
    assert validate(puzzle) == []
    assert solve(puzzle) is None
    assert count_solutions(puzzle) == 0
    assert rate(puzzle) > 10
    # A repeated clue is unsolvable too (the solver does not raise).
    assert solve(parse(TWO_WAY_4X4, size=4).tolist()) is not None
    bad = parse(TWO_WAY_4X4)
    bad[0, 0] = 2
    assert validate(bad) and solve(bad) is None and count_solutions(bad) == 0


def test_solve_16x16_and_6x6():
    rng = np.random.default_rng(1)
    for n in (6, 16):
        full = solve(np.zeros((n, n), dtype=np.int64))
        assert validate(full) == [] and (full > 0).all()
        puzzle = np.where(rng.random((n, n)) < 0.5, full, 0)
        sol = solve(puzzle)
        assert is_valid_solution(puzzle, sol)


# ---- parsing ----------------------------------------------------------------------------------------


def test_parse_forms_agree():
    grid = parse(AI_ESCARGOT)
    assert grid.shape == (9, 9) and grid.dtype == np.int64
    assert grid[0, 0] == 1 and grid[0, 1] == 0 and grid[0, 5] == 7
    assert (parse(AI_ESCARGOT.replace(".", "0")) == grid).all()
    assert (parse(format_grid(grid, pretty=True)) == grid).all()
    assert (parse("\n".join(AI_ESCARGOT[i : i + 9] for i in range(0, 81, 9))) == grid).all()
    assert (parse(grid.tolist()) == grid).all()
    assert (parse(grid.ravel()) == grid).all()
    assert format_grid(grid) == AI_ESCARGOT


def test_parse_16x16_letters_either_case():
    full = solve(np.zeros((16, 16), dtype=np.int64))
    text = format_grid(full)
    assert set(text) == set("123456789ABCDEFG")
    assert (parse(text) == full).all() and (parse(text.lower()) == full).all()
    assert (parse(format_grid(full, pretty=True)) == full).all()


@pytest.mark.parametrize("n", [4, 6, 9, 16])
def test_format_round_trip_all_sizes(n):
    full = solve(np.zeros((n, n), dtype=np.int64))
    puzzle = np.where(np.arange(n * n).reshape(n, n) % 3 == 0, 0, full)
    for pretty in (False, True):
        assert (parse(format_grid(puzzle, pretty=pretty)) == puzzle).all()
    assert len(format_grid(puzzle)) == n * n


def test_parse_wrong_length_points_past_the_last_cell():
    with pytest.raises(InputError) as e:
        parse(AI_ESCARGOT[:80], file="p.txt", line=7)
    assert (e.value.file, e.value.line, e.value.column) == ("p.txt", 7, 81)
    assert str(e.value).startswith("p.txt:7:81: expected 81 cells")
    with pytest.raises(InputError) as e:
        parse(AI_ESCARGOT + "5")
    assert (e.value.line, e.value.column) == (1, 82)


def test_parse_bad_character_and_digit_too_large():
    with pytest.raises(InputError) as e:
        parse(AI_ESCARGOT[:4] + "x" + AI_ESCARGOT[5:], file="f")
    assert (e.value.line, e.value.column) == (1, 5) and "'x'" in e.value.message
    with pytest.raises(InputError) as e:
        parse("12....5.........")  # 5 in a 4x4
    assert (e.value.line, e.value.column) == (1, 7)
    with pytest.raises(InputError) as e:
        parse("." * 80 + "A")  # a letter in a 9x9
    assert e.value.column == 81


def test_parse_duplicate_names_both_cells():
    text = "5...5" + "." * 76
    with pytest.raises(InputError) as e:
        parse(text, file="x.txt", line=3)
    assert (e.value.line, e.value.column) == (3, 5)
    assert "r1c5" in e.value.message and "r1c1" in e.value.message and "row 1" in e.value.message
    grid = ["." * 9] * 9
    grid[7] = "..4......"
    grid[8] = ".4......."  # same box as r8c3 (box 7)
    with pytest.raises(InputError) as e:
        parse("\n".join(grid), line=10)
    assert (e.value.line, e.value.column) == (18, 2)
    assert "r9c2" in e.value.message and "r8c3" in e.value.message and "box 7" in e.value.message


def test_parse_multiline_short_row_points_at_its_end():
    rows = [AI_ESCARGOT[i : i + 9] for i in range(0, 81, 9)]
    rows[2] = rows[2][:8]
    with pytest.raises(InputError) as e:
        parse("\n".join(rows), file="g.txt", line=5)
    assert (e.value.line, e.value.column) == (7, 9) and "8 cells" in e.value.message
    rows = [" ".join(AI_ESCARGOT[i : i + 9]) for i in range(0, 81, 9)]
    rows[4] += " 7"
    with pytest.raises(InputError) as e:
        parse("\n".join(rows))
    assert (e.value.line, e.value.column) == (5, 19)


def test_parse_array_errors():
    with pytest.raises(InputError, match="shape"):
        parse(np.zeros((5, 5), dtype=int))
    with pytest.raises(InputError, match="outside 0..4"):
        parse([[5, 0, 0, 0]] + [[0] * 4] * 3)
    with pytest.raises(InputError, match="r2c1 repeats r1c1 in column 1"):
        parse([[1, 0, 0, 0], [1, 0, 0, 0], [0] * 4, [0] * 4])
    with pytest.raises(InputError, match="expected a 9x9"):
        parse(np.zeros((4, 4), dtype=int), size=9)


# ---- files ------------------------------------------------------------------------------------------


def test_parse_file_one_per_line_and_grids(tmp_path):
    path = tmp_path / "mix.txt"
    pretty = format_grid(parse(TWO_WAY_4X4), pretty=True)
    path.write_text(f"# famous\n{AI_ESCARGOT}\n{EASY}\n\n{pretty}\n\n# done\n{GOLDEN_NUGGET}\n")
    puzzles = parse_file(path)
    assert [p.line for p in puzzles] == [2, 3, 5, 12]  # the pretty grid takes lines 5-9
    assert format_grid(puzzles[0].question) == AI_ESCARGOT and puzzles[0].answer is None
    assert (puzzles[2].question == parse(TWO_WAY_4X4)).all()
    assert format_grid(puzzles[3].question) == GOLDEN_NUGGET


def test_parse_file_many_one_line_puzzles_in_one_block(tmp_path):
    # 81 lines of 81 cells are 81 puzzles, not one grid; 9 lines of 9 cells are one grid
    puzzle = parse(AI_ESCARGOT)
    rng = np.random.default_rng(0)
    variants = [augment(puzzle, solve(puzzle), rng)[0] for _ in range(81)]
    path = tmp_path / "many.txt"
    path.write_text("\n".join(format_grid(v) for v in variants) + "\n")
    puzzles = parse_file(path)
    assert len(puzzles) == 81 and all((p.question == v).all() for p, v in zip(puzzles, variants, strict=True))
    path.write_text("\n".join(AI_ESCARGOT[i : i + 9] for i in range(0, 81, 9)))
    assert [format_grid(p.question) for p in parse_file(path)] == [AI_ESCARGOT]


def test_parse_file_error_names_file_line_column(tmp_path):
    path = tmp_path / "bad.txt"
    bad = AI_ESCARGOT[:9] + "3" + AI_ESCARGOT[10:]  # r2c1 = 3; then the clue 3 at r2c2 repeats it
    path.write_text(f"{EASY}\n#\n{bad}\n")
    with pytest.raises(InputError) as e:
        parse_file(path)
    assert (e.value.file, e.value.line, e.value.column) == (str(path), 3, 11)


def test_parse_file_csv(tmp_path):
    easy, answer = parse(EASY), solve(parse(EASY))
    path = tmp_path / "x.csv"
    rows = [
        "source,question,answer,rating",
        f"wiki,{EASY},{format_grid(answer)},0",
        f"tdoku,{AI_ESCARGOT},{format_grid(solve(parse(AI_ESCARGOT)))},17",
        "",
    ]
    path.write_text("\n".join(rows))
    puzzles = parse_file(path)
    assert len(puzzles) == 2 and [p.line for p in puzzles] == [2, 3]
    assert (puzzles[0].question == easy).all() and (puzzles[0].answer == answer).all()
    assert (puzzles[1].rating, puzzles[1].source) == (17, "tdoku")
    # a bad character in the question: column counts from the start of the line
    rows[2] = f"tdoku,{AI_ESCARGOT[:20]}?{AI_ESCARGOT[21:]},{format_grid(solve(parse(AI_ESCARGOT)))},17"
    path.write_text("\n".join(rows))
    with pytest.raises(InputError) as e:
        parse_file(path)
    assert (e.value.line, e.value.column) == (3, len("tdoku,") + 21)
    # an answer that is a valid grid but changes clues (digits 1 and 2 swapped)
    wrong = np.choose(answer, [0, 2, 1, 3, 4, 5, 6, 7, 8, 9])
    rows[2] = f"wiki,{EASY},{format_grid(wrong)},0"
    path.write_text("\n".join(rows))
    with pytest.raises(InputError, match="answer does not solve") as e:
        parse_file(path)
    assert (e.value.line, e.value.column) == (3, len("wiki,") + 81 + 2)


# ---- validation and tokens --------------------------------------------------------------------------


def test_validate_reports_each_problem():
    puzzle = parse(EASY)
    assert validate(puzzle) == []
    answer = solve(puzzle)
    assert validate(puzzle, solution=answer) == [] and is_valid_solution(puzzle, answer)
    bad = puzzle.copy()
    bad[0, 2] = 5
    problems = validate(bad)
    assert any("row 1 has 5 2 times (r1c1, r1c3)" in p for p in problems)
    holey = answer.copy()
    holey[3, 3] = 0
    assert any("1 blanks (r4c4)" in p for p in validate(puzzle, solution=holey))
    changed = answer.copy()
    changed[0, 0], changed[0, 1] = changed[0, 1], changed[0, 0]
    problems = validate(puzzle, solution=changed)
    assert any("changes clue 5 at r1c1" in p for p in problems) and not is_valid_solution(puzzle, changed)
    assert validate(np.zeros((3, 3), dtype=int)) and not is_valid_solution(puzzle, answer[:4, :4])


@pytest.mark.parametrize("n", [4, 6, 9, 16])
def test_tokens_round_trip(n):
    full = solve(np.zeros((n, n), dtype=np.int64))
    grid = np.where(np.arange(n * n).reshape(n, n) % 2 == 0, 0, full)
    tokens = to_tokens(grid)
    assert tokens.dtype == np.uint8 and tokens.shape == (n * n,)
    assert tokens.min() >= 1 and tokens.max() <= n + 1
    assert (tokens[grid.ravel() == 0] == 1).all()
    assert (from_tokens(tokens, n) == grid).all()
    weird = tokens.copy()
    weird[:3] = [0, 1, n + 2]  # PAD, blank, out of vocabulary -> blank
    assert (from_tokens(weird, n).ravel()[:3] == 0).all()
