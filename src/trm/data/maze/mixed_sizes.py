"""Training mazes of several sizes on one board: smaller mazes embedded in a frame of walls.

A model with a position-specific token mixer (MLP-T) learns each cell's rule at its own position. On
large boards every training path is long, and whole paths stay out of reach for a long time (11x11 on 2
CPU cores: 0% after 30 minutes, ``docs/learning.md``). A smaller maze placed inside a board of walls
is itself a valid maze of the board's size with the same shortest path, so a training set that mixes
them shows short paths at every position of the target board.

Design choices:

- Sizes are given as a list (``7,9,11``); maze ``i`` of the training split gets ``sizes[i % len]``, so
  the shares are equal and a size listed twice gets twice the share. The board's own size may be in
  the list (pure target-size mazes in the mix).
- Offsets keep the room lattice. The generator puts rooms at even coordinates; on an odd board every
  target maze has its rooms at even coordinates, so a smaller maze must be odd too and sits at even
  offsets (the dihedral variants of ``--augment`` keep that: a mirror maps offset ``o`` to
  ``side - k - o``, also even). An even board's mazes have their wall band on a random side, so
  rooms sit at either parity there and every offset and size keep the alignment.
- Each embedded maze follows the generator's own rule for its size: shortest paths of at least
  round(110 x k^2 / 900) moves (Maze-Hard's rule scaled by area), or a given ``min_path_len`` for the
  board scaled to the smaller area.
- Only the training split mixes sizes; test and validation mazes stay pure board-size mazes (the
  builder draws them as without a mix, so the test set equals the one of a pure build).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from trm.data.maze.generate import MazeRecord, default_min_path_len, generate_maze
from trm.data.maze.grid import WALL
from trm.data.maze.search import shortest_path_length, solve
from trm.errors import InputError


def parse_mix_sizes(text: str) -> tuple[int, ...]:
    """``"7,9,11"`` -> ``(7, 9, 11)``; InputError naming the bad entry."""
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        raise InputError("mix sizes: expected comma-separated maze sides such as 7,9,11, got nothing")
    sizes = []
    for p in parts:
        if not p.isdigit():
            raise InputError(f"mix sizes: {p!r} is not a maze side (expected comma-separated integers)")
        sizes.append(int(p))
    return tuple(sizes)


def check_mix_sizes(sizes: tuple[int, ...] | list[int], side: int) -> tuple[int, ...]:
    """The sizes, validated for a ``side`` x ``side`` board; InputError saying what is wrong."""
    sizes = tuple(int(k) for k in sizes)
    if not sizes:
        raise InputError("mix sizes: give at least one maze side")
    for k in sizes:
        if k < 3:
            raise InputError(f"mix sizes: {k} is below the smallest maze side, 3")
        if k > side:
            raise InputError(f"mix sizes: {k} is larger than the board side {side} (--size)")
        if side % 2 and not k % 2:
            raise InputError(
                f"mix sizes: {k} is even but the board side {side} is odd; an odd board's rooms sit at "
                "even coordinates, which only an odd maze keeps (use odd sides)"
            )
    return sizes


def offsets(side: int, k: int) -> range:
    """Row (or column) offsets of a ``k`` maze on a ``side`` board that keep the room lattice."""
    return range(0, side - k + 1, 2 if side % 2 else 1)


def embed(maze: np.ndarray, side: int, row: int, col: int) -> np.ndarray:
    """``maze`` [k, k] at (row, col) of a [side, side] board of walls."""
    k = maze.shape[0]
    if not (0 <= row <= side - k and 0 <= col <= side - k):
        raise InputError(f"a {k}x{k} maze at ({row}, {col}) does not fit a {side}x{side} board")
    board = np.full((side, side), WALL, dtype=maze.dtype)
    board[row : row + k, col : col + k] = maze
    return board


def _min_len(k: int, side: int, min_path_len: int | None) -> int | None:
    if min_path_len is None:
        return default_min_path_len(k)
    return min_path_len if k == side else max(1, round(min_path_len * k * k / (side * side)))


def generate_mixed_records(
    n: int,
    *,
    side: int,
    sizes: tuple[int, ...] | list[int],
    min_path_len: int | None = None,
    extra_open: float = 0.03,
    corner_open: float = 0.2,
    seed: int = 0,
    stream: int = 0,
    progress: bool = False,
) -> list[MazeRecord]:
    """``n`` labelled ``side`` x ``side`` mazes, maze ``i`` a ``sizes[i % len]`` maze at a random offset.

    The same arguments give the same mazes. A record's ``source`` names the embedded size and offset.
    """
    sizes = check_mix_sizes(sizes, side)
    rng = np.random.default_rng([seed, stream])
    it = range(n)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc=f"generating mazes of sides {','.join(map(str, sizes))} on {side}x{side}")
    records = []
    for i in it:
        k = sizes[i % len(sizes)]
        small = generate_maze(rng, k, _min_len(k, side, min_path_len), extra_open, corner_open)
        room = offsets(side, k)
        r, c = int(rng.choice(room)), int(rng.choice(room))
        q = embed(small, side, r, c)
        where = "" if k == side else f":embedded={k}x{k}@{r},{c}"
        records.append(
            MazeRecord(
                q,
                solve(q),
                source=f"trm-generator:seed={seed}:stream={stream}{where}",
                rating=str(shortest_path_length(q)),
            )
        )
    return records


def mix_summary(sizes: tuple[int, ...], n: int, side: int) -> dict:
    """What the metadata records about a mix of ``n`` training mazes on a ``side`` board."""
    counts = Counter(sizes[i % len(sizes)] for i in range(n))
    return {
        "sizes": list(sizes),
        "mazes_by_size": {str(k): counts[k] for k in sorted(counts)},
        "offsets": "even" if side % 2 else "any",
    }
