"""Offline generator of hard mazes (long shortest paths), seeded, with statistics.

Method (all randomness from one ``numpy.random.Generator`` seeded by the caller):

1. Lattice: rooms sit at even coordinates (0, 2, 4, ...) of the side x side grid, everything else
   starts as wall. For an even side the last row and column stay wall; step 3 moves that band to a
   random side.
2. Spanning tree: a randomized depth-first search (recursive backtracker) over the rooms opens the
   wall between each room and the room it is reached from. This gives a perfect maze (exactly one
   path between any two cells) with long winding corridors, hence long shortest paths.
3. Loops: each remaining wall between two adjacent rooms is opened with probability ``extra_open``.
   Loops create alternative routes, so many mazes get several equally short paths (as the hub's test
   set has), while most of the corridor length survives. Then one random dihedral transform.
4. Start and goal: from a random open cell, BFS to a farthest cell A (random among the farthest);
   BFS from A and pick B uniformly among cells at distance >= ``min_path_len``; S and G are A and B in
   random order. A maze with no such B is rejected and drawn again.
5. The label is the tie-broken shortest path of :func:`trm.data.maze.search.solve`; the record's
   ``rating`` is the shortest path length in moves.

Default ``min_path_len`` scales the hub's ~110 for 30x30 by area: round(110 * side^2 / 900).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from trm.data import dihedral
from trm.data.maze.grid import GOAL, OPEN, START, WALL
from trm.data.maze.search import _bfs, count_shortest_paths, shortest_path_length, solve
from trm.errors import InputError

HUB_MIN_PATH_LEN = 110  # the hub's Maze-Hard mazes have shortest paths of about 110+ on 30x30


@dataclass
class MazeRecord:
    """One maze as a row of the hub's CSV: grids are [side, side] uint8 cell codes."""

    question: np.ndarray
    answer: np.ndarray
    source: str = ""
    rating: str = "0"


def default_min_path_len(side: int) -> int:
    return max(1, round(HUB_MIN_PATH_LEN * side * side / 900))


def _spanning_tree(rng: np.random.Generator, side: int) -> np.ndarray:
    """Perfect maze on the even-coordinate lattice by randomized DFS; grid [side, side] of WALL/OPEN."""
    k = (side + 1) // 2  # rooms per axis
    grid = np.full((side, side), WALL, dtype=np.uint8)
    grid[0 : 2 * k : 2, 0 : 2 * k : 2] = OPEN
    visited = np.zeros((k, k), dtype=bool)
    start = (int(rng.integers(k)), int(rng.integers(k)))
    visited[start] = True
    stack = [start]
    while stack:
        i, j = stack[-1]
        options = [
            (a, b)
            for a, b in ((i - 1, j), (i, j - 1), (i, j + 1), (i + 1, j))
            if 0 <= a < k and 0 <= b < k and not visited[a, b]
        ]
        if not options:
            stack.pop()
            continue
        a, b = options[int(rng.integers(len(options)))]
        visited[a, b] = True
        grid[i + a, j + b] = OPEN  # the wall cell between rooms (2i, 2j) and (2a, 2b)
        stack.append((a, b))
    return grid


def _open_loops(rng: np.random.Generator, grid: np.ndarray, extra_open: float) -> None:
    """Open each remaining wall between two adjacent rooms with probability ``extra_open``."""
    side = grid.shape[0]
    last = 2 * ((side + 1) // 2) - 2  # coordinate of the last room
    between = np.zeros_like(grid, dtype=bool)
    between[0 : last + 1 : 2, 1:last:2] = True  # between horizontally adjacent rooms
    between[1:last:2, 0 : last + 1 : 2] = True  # between vertically adjacent rooms
    candidates = np.flatnonzero(between.reshape(-1) & (grid.reshape(-1) == WALL))
    chosen = candidates[rng.random(len(candidates)) < extra_open]
    grid.reshape(-1)[chosen] = OPEN


def _open_corners(rng: np.random.Generator, grid: np.ndarray, corner_open: float) -> None:
    """Open pillars that sit in the bend of a corridor, each with prob ``corner_open``.

    A pillar (odd, odd) whose only open neighbours are two connectors at a right angle lies inside a
    bend: both connectors are 2 moves apart around the room and 2 moves apart through the pillar, so
    opening it adds an equally short route and never a shorter one.
    """
    side = grid.shape[0]
    last = 2 * ((side + 1) // 2) - 2
    if last < 2:
        return
    o = grid == OPEN
    rows = slice(1, last, 2)
    up, down = o[0 : last - 1 : 2, rows], o[2 : last + 1 : 2, rows]
    left, right = o[rows, 0 : last - 1 : 2], o[rows, 2 : last + 1 : 2]
    n_open = up.astype(int) + down + left + right
    bend = (n_open == 2) & ~(up & down) & ~(left & right)
    chosen = bend & (rng.random(bend.shape) < corner_open)
    grid[rows, rows][chosen] = OPEN


def generate_maze(
    rng: np.random.Generator,
    side: int = 30,
    min_path_len: int | None = None,
    extra_open: float = 0.03,
    corner_open: float = 0.2,
    max_tries: int = 200,
) -> np.ndarray:
    """One question grid [side, side]: one S, one G, a shortest path >= ``min_path_len`` moves."""
    if side < 3:
        raise InputError(f"maze side must be at least 3, got {side}")
    for name, p in (("extra_open", extra_open), ("corner_open", corner_open)):
        if not 0 <= p <= 1:
            raise InputError(f"{name} must be in [0, 1], got {p}")
    need = default_min_path_len(side) if min_path_len is None else min_path_len
    for _ in range(max_tries):
        grid = _spanning_tree(rng, side)
        _open_loops(rng, grid, extra_open)
        _open_corners(rng, grid, corner_open)
        grid = dihedral.apply(int(rng.integers(dihedral.NUM_TRANSFORMS)), grid)
        flat = grid.reshape(-1)
        passable = (flat != WALL).tolist()
        open_cells = np.flatnonzero(flat == OPEN)
        dist, _ = _bfs(passable, side, side, int(rng.choice(open_cells)))
        d = np.asarray(dist)
        a = int(rng.choice(np.flatnonzero(d == d.max())))
        d = np.asarray(_bfs(passable, side, side, a)[0])
        far = np.flatnonzero(d >= need)
        if far.size == 0:
            continue
        b = int(rng.choice(far))
        s, g = (a, b) if rng.random() < 0.5 else (b, a)
        flat[s], flat[g] = START, GOAL
        return grid
    raise ValueError(
        f"no {side}x{side} maze with a shortest path >= {need} in {max_tries} tries; "
        f"lower min_path_len or extra_open"
    )


def generate_records(
    n: int,
    *,
    side: int = 30,
    min_path_len: int | None = None,
    extra_open: float = 0.03,
    corner_open: float = 0.2,
    seed: int = 0,
    stream: int = 0,
    progress: bool = False,
) -> list[MazeRecord]:
    """``n`` labelled mazes; the same arguments give the same mazes.

    ``stream`` picks an independent sequence for the same seed (the builder uses 0 = train, 1 = test,
    2 = val).
    """
    rng = np.random.default_rng([seed, stream])
    records = []
    it = range(n)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc=f"generating {side}x{side} mazes", unit="maze")
    for _ in it:
        q = generate_maze(rng, side, min_path_len, extra_open, corner_open)
        a = solve(q)
        records.append(
            MazeRecord(
                q, a, source=f"trm-generator:seed={seed}:stream={stream}", rating=str(shortest_path_length(q))
            )
        )
    return records


def _bucket(count: int) -> str:
    """Power-of-two bins for path counts: 1, 2, 3-4, 5-8, ..."""
    if count <= 2:
        return str(count)
    hi = 1 << (count - 1).bit_length()
    return f"{hi // 2 + 1}-{hi}"


def summarize(questions: list[np.ndarray], bin_width: int = 10) -> dict:
    """Distribution of shortest path lengths (moves) and of the number of distinct shortest paths."""
    lengths = [shortest_path_length(q) for q in questions]
    counts = [count_shortest_paths(q) for q in questions]
    if not lengths:
        return {"num_mazes": 0}
    length_hist = Counter((x // bin_width) * bin_width for x in lengths)
    count_hist = Counter(_bucket(c) for c in counts)
    return {
        "num_mazes": len(lengths),
        "path_length": {
            "min": int(min(lengths)),
            "median": float(np.median(lengths)),
            "mean": float(np.mean(lengths)),
            "max": int(max(lengths)),
            "histogram": {f"{k}-{k + bin_width - 1}": length_hist[k] for k in sorted(length_hist)},
        },
        "shortest_paths": {
            "unique_fraction": float(np.mean([c == 1 for c in counts])),
            "median": float(np.median(counts)),
            "max": int(max(counts)),
            "histogram": {k: count_hist[k] for k in sorted(count_hist, key=lambda s: int(s.split("-")[0]))},
        },
    }


def format_summary(summary: dict) -> str:
    """The summary as a small text table."""
    if not summary.get("num_mazes"):
        return "no mazes"
    pl, sp = summary["path_length"], summary["shortest_paths"]
    lines = [
        f"mazes: {summary['num_mazes']}",
        f"shortest path length (moves): min {pl['min']}  median {pl['median']:g}  "
        f"mean {pl['mean']:.1f}  max {pl['max']}",
    ]
    lines += [f"  {k:>9}: {v}" for k, v in pl["histogram"].items()]
    lines.append(
        f"distinct shortest paths: unique in {100 * sp['unique_fraction']:.1f}%  "
        f"median {sp['median']:g}  max {sp['max']}"
    )
    lines += [f"  {k:>9}: {v}" for k, v in sp["histogram"].items()]
    return "\n".join(lines)
