"""The hard-maze generator: S/G validity, the path-length bound, determinism, the statistics."""

import numpy as np
import pytest

from trm.data.maze.generate import (
    _open_corners,
    _spanning_tree,
    default_min_path_len,
    format_summary,
    generate_maze,
    generate_records,
    summarize,
)
from trm.data.maze.grid import GOAL, OPEN, PATH, START, WALL, format_maze, parse_maze
from trm.data.maze.metrics import is_valid_shortest_path
from trm.data.maze.search import _bfs, count_shortest_paths, shortest_path_length


@pytest.mark.parametrize(("side", "min_len"), [(6, None), (9, 20), (12, None), (30, None)])
def test_generated_mazes_are_valid_and_respect_the_path_length_bound(side, min_len):
    records = generate_records(3 if side == 30 else 10, side=side, min_path_len=min_len, seed=side)
    need = default_min_path_len(side) if min_len is None else min_len
    for r in records:
        q, a = r.question, r.answer
        assert q.shape == (side, side)
        assert np.count_nonzero(q == START) == 1 and np.count_nonzero(q == GOAL) == 1
        assert set(np.unique(q)) <= {WALL, OPEN, START, GOAL}
        length = shortest_path_length(q)
        assert length >= need and r.rating == str(length)
        assert is_valid_shortest_path(q, a) and np.count_nonzero(a == PATH) == length - 1
        assert np.array_equal(parse_maze(format_maze(q)), q)  # survives the hub text layout


def test_hub_size_defaults_to_the_hub_bound():
    assert default_min_path_len(30) == 110
    assert shortest_path_length(generate_maze(np.random.default_rng(0))) >= 110


def test_same_seed_same_mazes_other_seed_or_stream_other_mazes():
    def key(records):
        return [format_maze(r.question) for r in records]

    a = key(generate_records(5, side=10, seed=3))
    assert a == key(generate_records(5, side=10, seed=3))
    assert a != key(generate_records(5, side=10, seed=4))
    assert a != key(generate_records(5, side=10, seed=3, stream=1))


def test_spanning_tree_is_a_perfect_maze():
    for side in (7, 10):
        g = _spanning_tree(np.random.default_rng(side), side)
        k = (side + 1) // 2
        open_cells = np.flatnonzero(g.reshape(-1) == OPEN)
        assert len(open_cells) == k * k + (k * k - 1)  # rooms + one opened wall per tree edge
        dist, order = _bfs((g.reshape(-1) != WALL).tolist(), side, side, int(open_cells[0]))
        assert len(order) == len(open_cells)  # connected, and with n-1 edges: a tree


def test_opening_bends_adds_equal_routes_but_never_shortens_a_path():
    rng = np.random.default_rng(5)
    g = _spanning_tree(rng, 15)
    before = g.copy()
    _open_corners(rng, g, 1.0)
    opened = np.argwhere((g == OPEN) & (before == WALL))
    assert len(opened) > 0 and all(r % 2 == 1 and c % 2 == 1 for r, c in opened)  # only pillars
    old_cells = np.flatnonzero(before.reshape(-1) == OPEN)
    for src in old_cells[:: max(1, len(old_cells) // 10)]:
        d0 = np.asarray(_bfs((before.reshape(-1) != WALL).tolist(), 15, 15, int(src))[0])
        d1 = np.asarray(_bfs((g.reshape(-1) != WALL).tolist(), 15, 15, int(src))[0])
        assert np.array_equal(d0[old_cells], d1[old_cells])
    q = g.copy()
    q[0, 0], q[14, 14] = START, GOAL
    assert count_shortest_paths(q) > 1


def test_summary_reports_length_and_path_count_distributions():
    records = generate_records(12, side=10, seed=0)
    s = summarize([r.question for r in records], bin_width=5)
    lengths = [shortest_path_length(r.question) for r in records]
    assert s["num_mazes"] == 12 and s["path_length"]["min"] == min(lengths)
    assert sum(s["path_length"]["histogram"].values()) == 12
    assert sum(s["shortest_paths"]["histogram"].values()) == 12
    counts = [count_shortest_paths(r.question) for r in records]
    assert s["shortest_paths"]["unique_fraction"] == pytest.approx(np.mean([c == 1 for c in counts]))
    assert "distinct shortest paths" in format_summary(s)


def test_impossible_bound_is_reported():
    with pytest.raises(ValueError, match="no 6x6 maze with a shortest path >= 500"):
        generate_maze(np.random.default_rng(0), side=6, min_path_len=500, max_tries=5)
