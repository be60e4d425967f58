"""Exact shortest paths: BFS distances, exact path counts, the documented tie-break."""

from math import comb

import numpy as np
import pytest

from trm.data.maze.grid import GOAL, OPEN, PATH, START, WALL, parse_maze
from trm.data.maze.metrics import is_valid_shortest_path
from trm.data.maze.search import count_shortest_paths, distances, labelled_path, shortest_path_length, solve

TWO_WAYS = parse_maze("######S  ## # ##  G######")


def test_two_equal_routes_are_counted_and_the_label_takes_the_row_major_first():
    assert shortest_path_length(TWO_WAYS) == 4
    assert count_shortest_paths(TWO_WAYS) == 2
    # From S the neighbour order is up, left, right, down: "right" comes before "down".
    assert labelled_path(TWO_WAYS) == [(1, 1), (1, 2), (1, 3), (2, 3), (3, 3)]
    answer = solve(TWO_WAYS)
    assert {tuple(x) for x in np.argwhere(answer == PATH)} == {(1, 2), (1, 3), (2, 3)}
    assert answer[1, 1] == START and answer[3, 3] == GOAL  # S and G stay visible


@pytest.mark.parametrize("k", [2, 3, 5, 7])
def test_open_square_has_binomially_many_shortest_paths(k):
    g = np.full((k, k), OPEN, dtype=np.uint8)
    g[0, 0], g[-1, -1] = START, GOAL
    assert shortest_path_length(g) == 2 * (k - 1)
    assert count_shortest_paths(g) == comb(2 * (k - 1), k - 1)
    assert is_valid_shortest_path(g, solve(g))


def _brute_force_count(g):
    """Enumerate simple S->G paths by DFS; count those of minimal length."""
    h, w = g.shape
    s = tuple(np.argwhere(g == START)[0])
    goal = tuple(np.argwhere(g == GOAL)[0])
    lengths = []

    def dfs(v, seen):
        if v == goal:
            lengths.append(len(seen) - 1)
            return
        for dr, dc in ((-1, 0), (0, -1), (0, 1), (1, 0)):
            u = (v[0] + dr, v[1] + dc)
            if 0 <= u[0] < h and 0 <= u[1] < w and g[u] != WALL and u not in seen:
                dfs(u, seen | {u})

    dfs(s, {s})
    return (min(lengths), lengths.count(min(lengths))) if lengths else (-1, 0)


def test_counts_and_lengths_match_brute_force_on_random_small_mazes():
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(60):
        g = np.where(rng.random((4, 4)) < 0.3, WALL, OPEN).astype(np.uint8)
        cells = rng.choice(16, size=2, replace=False)
        g.reshape(-1)[cells[0]], g.reshape(-1)[cells[1]] = START, GOAL
        length, count = _brute_force_count(g)
        assert shortest_path_length(g) == length
        assert count_shortest_paths(g) == count
        if length > 0:
            assert is_valid_shortest_path(g, solve(g))
            checked += 1
        else:
            assert labelled_path(g) is None
    assert checked > 20


def test_distances_and_unreachable_goal():
    g = parse_maze("######S#G## # ##   ######")
    d = distances(g, (1, 1))
    assert d[1, 3] == 6 and d[0, 0] == -1 and d[1, 1] == 0
    g[3, 2] = WALL
    assert shortest_path_length(g) == -1 and count_shortest_paths(g) == 0
    with pytest.raises(ValueError, match="cannot be reached"):
        solve(g)
