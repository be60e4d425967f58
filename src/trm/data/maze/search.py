"""Exact shortest paths in a maze: BFS distances, the number of shortest paths, the labelled path.

Design choices:

- Moves are the 4 orthogonal steps; every cell that is not a wall (or PAD) can be walked on.
- Path length counts moves: a path visiting k cells (S and G included) has length k - 1, so an
  answer with m ``o`` cells has length m + 1.
- The label is one shortest path chosen by a fixed tie-break: starting at S, always step to the
  neighbour that is one move closer to G and comes first in row-major order (up, left, right, down).
  Any shortest path is equally right (see ``valid_shortest_path`` in :mod:`trm.data.maze.metrics`);
  the tie-break only makes the label deterministic. Note that it is not dihedral-equivariant: a
  turned copy's own tie-break can differ from its original's label turned. The builder's ``relabel``
  (default for generated mazes) runs it on every copy; otherwise a copy keeps the transformed label,
  as the reference builder does (:mod:`trm.data.maze.build`).
- Plain Python BFS over flat indices: a 30x30 maze takes well under a millisecond per search and no
  compiled dependency is needed.
"""

from __future__ import annotations

import numpy as np

from trm.data.maze.grid import GOAL, OPEN, PAD, PATH, START, WALL, find_cell


def _flat(grid: np.ndarray) -> tuple[list[bool], int, int]:
    g = np.asarray(grid)
    if g.ndim != 2:
        raise ValueError(f"a maze grid must be 2-D, got shape {g.shape}")
    passable = ((g != WALL) & (g != PAD)).reshape(-1).tolist()
    return passable, int(g.shape[0]), int(g.shape[1])


def _neighbours(v: int, h: int, w: int) -> list[int]:
    """Orthogonal neighbours of flat cell ``v`` in row-major order (up, left, right, down)."""
    r, c = divmod(v, w)
    out = []
    if r > 0:
        out.append(v - w)
    if c > 0:
        out.append(v - 1)
    if c < w - 1:
        out.append(v + 1)
    if r < h - 1:
        out.append(v + w)
    return out


def _bfs(passable: list[bool], h: int, w: int, source: int) -> tuple[list[int], list[int]]:
    """Distances from ``source`` (-1: unreachable) and the cells in the order BFS reached them."""
    dist = [-1] * (h * w)
    dist[source] = 0
    order = [source]
    for v in order:  # the list grows while we walk it: a FIFO queue without deque overhead
        d = dist[v] + 1
        for u in _neighbours(v, h, w):
            if passable[u] and dist[u] < 0:
                dist[u] = d
                order.append(u)
    return dist, order


def distances(grid: np.ndarray, source: tuple[int, int]) -> np.ndarray:
    """BFS distances [H, W] int32 from ``source`` (row, col) over non-wall cells; -1 where unreachable."""
    passable, h, w = _flat(grid)
    s = source[0] * w + source[1]
    if not passable[s]:
        raise ValueError(f"source {source} is a wall")
    dist, _ = _bfs(passable, h, w, s)
    return np.asarray(dist, dtype=np.int32).reshape(h, w)


def shortest_path_length(grid: np.ndarray) -> int:
    """Moves on a shortest S -> G path, or -1 if G cannot be reached."""
    passable, h, w = _flat(grid)
    s, g = (r * w + c for r, c in (find_cell(grid, START), find_cell(grid, GOAL)))
    dist, _ = _bfs(passable, h, w, s)
    return dist[g]


def count_shortest_paths(grid: np.ndarray) -> int:
    """Number of distinct shortest S -> G paths (exact, Python int; 0 if G is unreachable)."""
    passable, h, w = _flat(grid)
    s, g = (r * w + c for r, c in (find_cell(grid, START), find_cell(grid, GOAL)))
    dist, order = _bfs(passable, h, w, s)
    if dist[g] < 0:
        return 0
    count = [0] * (h * w)
    count[s] = 1
    for v in order:  # BFS order has non-decreasing distance, so every predecessor is final first
        if dist[v] >= dist[g]:
            break
        for u in _neighbours(v, h, w):
            if dist[u] == dist[v] + 1:
                count[u] += count[v]
    return count[g]


def labelled_path(grid: np.ndarray) -> list[tuple[int, int]] | None:
    """The tie-broken shortest path as (row, col) cells from S to G inclusive; None if unreachable."""
    passable, h, w = _flat(grid)
    s, g = (r * w + c for r, c in (find_cell(grid, START), find_cell(grid, GOAL)))
    to_goal, _ = _bfs(passable, h, w, g)
    if to_goal[s] < 0:
        return None
    path, v = [s], s
    while v != g:
        v = next(u for u in _neighbours(v, h, w) if to_goal[u] == to_goal[v] - 1)
        path.append(v)
    return [divmod(v, w) for v in path]


def solve(question: np.ndarray) -> np.ndarray:
    """The labelled answer: ``question`` with the tie-broken path's cells between S and G marked ``o``."""
    q = np.asarray(question)
    if np.any(q == PATH):
        raise ValueError("the question already contains path cells 'o'")
    path = labelled_path(q)
    if path is None:
        raise ValueError("G cannot be reached from S")
    answer = q.astype(np.uint8, copy=True)
    for r, c in path[1:-1]:
        assert answer[r, c] == OPEN
        answer[r, c] = PATH
    return answer
