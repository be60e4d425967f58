"""Maze metrics on hand-made cases: valid path, valid shortest path, and exact match disagree on purpose."""

import numpy as np

from trm.data.maze.grid import PATH, parse_maze
from trm.data.maze.metrics import is_valid_path, is_valid_shortest_path, maze_metrics, path_problem
from trm.data.maze.search import solve
from trm.data.maze.task import MazeTask
from trm.data.tasks import get_task

# S(1,1) to G(1,5): the short way along the top row (4 moves), a long way round (8 moves), and a
# separate 2x2 room below for a detached loop.
DETOUR = parse_maze("########S   G## ### ##     #########  #####  ####")
# Two equally short routes (4 moves): right-then-down (the label) or down-then-right.
TWO_WAYS = parse_maze("######S  ## # ##  G######")


def mark(q, cells):
    a = q.copy()
    for r, c in cells:
        a[r, c] = PATH
    return a


def test_a_valid_shortest_path_that_is_not_the_label_is_valid_shortest_but_not_exact():
    label = solve(TWO_WAYS)
    other = mark(TWO_WAYS, [(2, 1), (3, 1), (3, 2)])
    assert not np.array_equal(other, label)  # exact match fails
    assert is_valid_path(TWO_WAYS, other) and is_valid_shortest_path(TWO_WAYS, other)
    assert is_valid_shortest_path(TWO_WAYS, label)


def test_a_long_way_round_is_a_valid_path_but_not_shortest():
    long_way = mark(DETOUR, [(2, 1), (3, 1), (3, 2), (3, 3), (3, 4), (3, 5), (2, 5)])
    assert is_valid_path(DETOUR, long_way)
    assert not is_valid_shortest_path(DETOUR, long_way)
    assert is_valid_shortest_path(DETOUR, mark(DETOUR, [(1, 2), (1, 3), (1, 4)]))


def test_broken_branched_looped_or_altered_paths_score_neither():
    top = [(1, 2), (1, 3), (1, 4)]
    cases = {
        "gap": mark(DETOUR, [(1, 2), (1, 4)]),
        "no path": DETOUR.copy(),
        "spur": mark(DETOUR, [*top, (2, 1)]),
        "detached loop": mark(DETOUR, [*top, (5, 1), (5, 2), (6, 1), (6, 2)]),
        "wall painted": mark(DETOUR, [*top, (2, 2)]),
        "start painted": mark(DETOUR, [(1, 1), *top]),
    }
    for name, pred in cases.items():
        assert not is_valid_path(DETOUR, pred), name
        assert not is_valid_shortest_path(DETOUR, pred), name
    assert path_problem(DETOUR, cases["gap"]) == ("an 'o' cell touches 1 path cells, expected 2", 1 * 7 + 2)
    assert (
        path_problem(DETOUR, cases["detached loop"])[0] == "a loop of 'o' cells is not connected to the path"
    )
    assert path_problem(DETOUR, cases["spur"])[0] == "S touches 2 path cells, expected 1"


def test_batched_metrics_and_the_registered_task_agree():
    label = solve(TWO_WAYS)
    other = mark(TWO_WAYS, [(2, 1), (3, 1), (3, 2)])
    broken = mark(TWO_WAYS, [(1, 2), (2, 3)])
    padded = np.zeros_like(label)
    inputs = np.stack([TWO_WAYS.reshape(-1)] * 4)  # [4, 25]
    preds = np.stack([label, other, broken, padded]).reshape(4, -1)
    labels = np.stack([label.reshape(-1)] * 4)
    task = get_task("maze")
    assert isinstance(task, MazeTask)
    m = task.metrics(inputs, preds, labels)
    assert m["valid_path"].tolist() == [True, True, False, False]
    assert m["valid_shortest_path"].tolist() == [True, True, False, False]
    assert maze_metrics(inputs, preds)["valid_path"].dtype == bool
    assert [task.is_valid_answer(TWO_WAYS, p.reshape(5, 5)) for p in preds] == [True, True, False, False]


def test_task_codec_round_trips_and_draws_raw_model_output():
    task = MazeTask()
    q = task.parse("#####\n#S  #\n# # #\n#  G#\n#####\n")
    tokens = task.encode(q, (5, 5))
    assert tokens.shape == (25,) and set(np.unique(tokens)) <= {1, 2, 3, 4}
    assert np.array_equal(task.decode(tokens, (5, 5)), q)
    assert task.render_text(q).splitlines()[1] == "#S  #"
    raw = tokens.copy()
    raw[0], raw[1] = 0, 9  # PAD and an out-of-vocabulary token draw as '?'
    assert task.render_text(task.decode(raw, (5, 5))).startswith("??###")
