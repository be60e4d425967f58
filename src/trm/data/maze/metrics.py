"""Maze metrics beside exact match: "valid path" and "valid shortest path".

Exact match rewards reproducing the labeller's tie-break among equally short paths; these two metrics
score what a maze solver must do.

- valid path: the prediction keeps every cell of the question except open cells it marks ``o``, and
  the cells S, the ``o`` cells and G form one simple path from S to G: S and G each touch exactly one
  of these cells, every ``o`` cell touches exactly two, and walking from S visits all of them before
  reaching G (no detached loops). A path that runs alongside itself (two non-consecutive cells side by
  side) is rejected because its reading is ambiguous; a shortest path never does that.
- valid shortest path: a valid path whose length (``o`` cells + 1 moves) equals the BFS distance.

Inputs are token grids (cell codes = tokens, see :mod:`trm.data.maze.grid`); any PAD or other token
in the prediction makes it invalid.
"""

from __future__ import annotations

import math

import numpy as np

from trm.data.maze.grid import GOAL, OPEN, PATH, START, find_cell
from trm.data.maze.search import _neighbours, shortest_path_length


def path_problem(question: np.ndarray, pred: np.ndarray) -> tuple[str, int | None] | None:
    """Why ``pred`` is no valid path for ``question``: (message, flat cell index or None); None if valid."""
    q, p = np.asarray(question), np.asarray(pred)
    if q.shape != p.shape:
        return f"prediction shape {p.shape} differs from the question's {q.shape}", None
    h, w = q.shape
    qf, pf = q.reshape(-1), p.reshape(-1)
    changed = np.flatnonzero((qf != pf) & ~((qf == OPEN) & (pf == PATH)))
    if changed.size:
        return "a cell other than an open one was changed", int(changed[0])
    s_rc, g_rc = find_cell(q, START), find_cell(q, GOAL)
    s, g = s_rc[0] * w + s_rc[1], g_rc[0] * w + g_rc[1]
    on_path = (pf == PATH).tolist()
    on_path[s] = on_path[g] = True
    nodes = [s, g] + np.flatnonzero(pf == PATH).tolist()
    for v in nodes:
        degree = sum(on_path[u] for u in _neighbours(v, h, w))
        want = 1 if v in (s, g) else 2
        if degree != want:
            name = "S" if v == s else "G" if v == g else "an 'o' cell"
            return f"{name} touches {degree} path cells, expected {want}", v
    # Every degree is right, so the cells form one S-G path plus possibly closed loops: walk from S.
    prev, v, walked = -1, s, {s}
    while v != g:
        prev, v = v, next(u for u in _neighbours(v, h, w) if on_path[u] and u != prev)
        walked.add(v)
    if len(walked) != len(nodes):
        return "a loop of 'o' cells is not connected to the path", next(u for u in nodes if u not in walked)
    return None


def is_valid_path(question: np.ndarray, pred: np.ndarray) -> bool:
    """True when the ``o`` cells of ``pred`` form a simple path of open cells from S to G."""
    return path_problem(question, pred) is None


def is_valid_shortest_path(question: np.ndarray, pred: np.ndarray) -> bool:
    """True when ``pred`` is a valid path of minimal length (any shortest path, not only the label)."""
    if not is_valid_path(question, pred):
        return False
    return int(np.count_nonzero(np.asarray(pred) == PATH)) + 1 == shortest_path_length(question)


def maze_metrics(inputs: np.ndarray, preds: np.ndarray) -> dict[str, np.ndarray]:
    """Per-example ``valid_path`` and ``valid_shortest_path``, bool [E], from token rows [E, side^2]."""
    inputs, preds = np.asarray(inputs), np.asarray(preds)
    if inputs.shape != preds.shape or inputs.ndim != 2:
        raise ValueError(f"inputs {inputs.shape} and predictions {preds.shape} must be equal [E, L]")
    side = math.isqrt(inputs.shape[1])
    if side * side != inputs.shape[1]:
        raise ValueError(f"maze rows have {inputs.shape[1]} tokens, not a square number")
    valid = np.zeros(len(inputs), dtype=bool)
    shortest = np.zeros(len(inputs), dtype=bool)
    for i in range(len(inputs)):
        q, p = inputs[i].reshape(side, side), preds[i].reshape(side, side)
        valid[i] = is_valid_path(q, p)
        if valid[i]:
            shortest[i] = int(np.count_nonzero(p == PATH)) + 1 == shortest_path_length(q)
    return {"valid_path": valid, "valid_shortest_path": shortest}
