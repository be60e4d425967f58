"""Mixed-size training mazes: smaller mazes embedded in walls keep validity, paths, the room lattice."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from trm.cli import app
from trm.data.errors import InputError
from trm.data.format import open_split
from trm.data.maze.build import build_generated
from trm.data.maze.grid import GOAL, PATH, START, WALL, format_maze, parse_maze
from trm.data.maze.metrics import is_valid_shortest_path
from trm.data.maze.mixed_sizes import check_mix_sizes, embed, generate_mixed_records, parse_mix_sizes
from trm.data.maze.search import shortest_path_length

EMBEDDED = re.compile(r":embedded=(\d+)x\1@(\d+),(\d+)$")


def _plain(output: str) -> str:
    """CLI output with the error box's borders and line wraps removed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


def _window(record, side):
    """(k, row, col) of the embedded maze, read from the record's source (the board itself: k = side)."""
    m = EMBEDDED.search(record.source)
    return (side, 0, 0) if m is None else tuple(int(g) for g in m.groups())


@pytest.fixture(scope="module")
def mixed():
    return generate_mixed_records(36, side=11, sizes=(7, 9, 11), seed=3)


def test_embedded_mazes_are_valid_board_mazes_with_the_small_mazes_shortest_path(mixed):
    sizes = set()
    for r in mixed:
        q, a = r.question, r.answer
        assert q.shape == (11, 11)
        parse_maze(format_maze(q), side=11)  # one S, one G, known cells only
        k, row, col = _window(r, 11)
        sizes.add(k)
        inside = np.zeros_like(q, dtype=bool)
        inside[row : row + k, col : col + k] = True
        assert (q[~inside] == WALL).all() and (a[~inside] == WALL).all()  # the frame is wall only
        small, small_answer = q[inside].reshape(k, k), a[inside].reshape(k, k)
        assert (small == START).sum() == 1 and (small == GOAL).sum() == 1
        # The label is a shortest path of the embedded maze alone, and of the board.
        assert is_valid_shortest_path(small, small_answer)
        assert shortest_path_length(q) == shortest_path_length(small) == int(r.rating)
        assert np.count_nonzero(a == PATH) + 1 == shortest_path_length(q)
        assert is_valid_shortest_path(q, a)
        # Rooms stay on the board's even lattice (every even-even cell of the window is passable).
        rooms = np.zeros_like(inside)
        rooms[0::2, 0::2] = True
        assert (q[rooms & inside] != WALL).all()
    assert sizes == {7, 9, 11}


def test_offsets_vary_and_keep_even_coordinates_on_an_odd_board(mixed):
    windows = [_window(r, 11) for r in mixed if _window(r, 11)[0] == 7]
    rows, cols = {w[1] for w in windows}, {w[2] for w in windows}
    assert len(rows) > 1 and len(cols) > 1
    assert all(o % 2 == 0 and 0 <= o <= 4 for o in rows | cols)
    shares = [_window(r, 11)[0] for r in mixed]
    assert shares.count(7) == shares.count(9) == shares.count(11) == 12


def test_even_board_takes_any_size_and_offset():
    records = generate_mixed_records(24, side=10, sizes=(6, 7), seed=1)
    offsets = {w for r in records for w in _window(r, 10)[1:]}
    assert offsets & {1, 3}  # odd offsets too: an even board's rooms sit at either parity
    assert all(is_valid_shortest_path(r.question, r.answer) for r in records)


def test_same_seed_same_mazes_and_embed_rejects_what_does_not_fit():
    a = generate_mixed_records(6, side=9, sizes=(5, 9), seed=2)
    b = generate_mixed_records(6, side=9, sizes=(5, 9), seed=2)
    assert [format_maze(r.question) for r in a] == [format_maze(r.question) for r in b]
    assert [r.source for r in a] == [r.source for r in b]
    with pytest.raises(InputError, match="does not fit a 9x9 board"):
        embed(a[0].question[:5, :5], 9, 6, 0)


def test_test_split_stays_pure_and_metadata_records_the_mix(tmp_path):
    kw = {"num_train": 9, "num_test": 4, "side": 9, "seed": 5, "num_val": 2, "statistics": False}
    build_generated(tmp_path / "pure", **kw)
    metas = build_generated(tmp_path / "mix", mix_sizes=(5, 7, 9), augment=True, **kw)
    for split in ("test", "val"):  # the same mazes as a build without the mix
        for name in ("inputs.npy", "labels.npy"):
            assert (tmp_path / "mix" / split / name).read_bytes() == (
                tmp_path / "pure" / split / name
            ).read_bytes()
        assert metas[split].build["mix_sizes"] is None
    train = metas["train"].build
    assert train["mix_sizes"] == [5, 7, 9]
    assert train["mix"]["mazes_by_size"] == {"5": 3, "7": 3, "9": 3} and train["mix"]["offsets"] == "even"
    assert train["labels_are_shortest"] == 9
    inputs = np.asarray(open_split(tmp_path / "mix", "train").inputs).reshape(-1, 9, 9)
    framed = [(q[0] == WALL).all() or (q[-1] == WALL).all() for q in inputs]
    assert any(framed) and not all(framed)  # smaller mazes in a frame beside full-board ones


@pytest.mark.parametrize(
    ("text", "side", "message"),
    [
        ("7,13", 11, "13 is larger than the board side 11"),
        ("7,8,11", 11, "8 is even but the board side 11 is odd"),
        ("2,9", 9, "2 is below the smallest maze side, 3"),
        ("7,x", 11, "'x' is not a maze side"),
        ("", 11, "got nothing"),
    ],
)
def test_bad_mix_sizes_are_errors_naming_the_option(tmp_path, text, side, message):
    with pytest.raises(InputError, match=message):
        check_mix_sizes(parse_mix_sizes(text), side)
    args = ["data", "maze", str(tmp_path / "d"), "-s", "generate", "--size", str(side), "--mix-sizes", text]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "--mix-sizes" in res.output and message in _plain(res.output)
    assert not (tmp_path / "d").exists()


def test_cli_builds_a_mixed_training_split_and_refuses_a_mix_without_generate(tmp_path):
    out = tmp_path / "d"
    args = [
        "data",
        "maze",
        str(out),
        "-s",
        "generate",
        "--size",
        "7",
        "--train-count",
        "4",
        "--test-count",
        "2",
    ]
    res = CliRunner().invoke(app, [*args, "--mix-sizes", "5,7"])
    assert res.exit_code == 0, res.output
    assert open_split(out, "train").metadata.build["mix"]["mazes_by_size"] == {"5": 2, "7": 2}
    res = CliRunner().invoke(app, ["data", "maze", str(tmp_path / "h"), "--mix-sizes", "5"])
    assert res.exit_code == 2 and "--mix-sizes" in res.output and "(--source generate)" in _plain(res.output)


def test_learning_curves_passes_the_mix_to_the_maze_builder_only(tmp_path):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "learning_curves.py"
    spec = importlib.util.spec_from_file_location("trm_benchmark_learning_curves", path)
    curves = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(curves)
    argv, recipe, _ = curves.task_spec("maze:11", tmp_path, False, "7,9,11")
    assert argv[argv.index("--size") + 1] == "11" and argv[argv.index("--mix-sizes") + 1] == "7,9,11"
    assert recipe == "maze_cpu" and "--mix-sizes" not in curves.task_spec("maze:11", tmp_path, False)[0]
    with pytest.raises(SystemExit, match="only maze tasks mix sizes"):
        curves.task_spec("sudoku9", tmp_path, False, "7,9")
