"""Two small example grid tasks, generated offline from a seed, to try ``trm data grids`` on.

- ``life``: one step of Conway's Game of Life on an n x n board (cells outside the board are dead),
  ``.`` dead and ``#`` alive, written as lists of strings. Every output differs from its input (still
  lifes are redrawn), so copying the input is never exactly right. The rule commutes with the 8 dihedral
  transforms, so ``--augment dihedral`` is a valid augmentation.
- ``gravity``: blocks fall to the bottom of their column, keeping their order (0 is empty, 1..k are
  block colours), on boards of random sizes (so the grids are padded with the EOS border), written as
  rows of integers. At least one block falls in every example. Colours are interchangeable, so
  ``--augment symbols --fixed-symbols 0`` is valid; dihedral transforms are not (they turn gravity).

Each example is a JSON object ``{"id", "input", "output"}``; :func:`write_jsonl` writes them atomically.
The same name, count, seed and options give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from trm.errors import InputError
from trm.files import atomic_write_text

LIFE_CHARS = ".#"


def life_step(board: np.ndarray) -> np.ndarray:
    """bool [n, m] -> the next generation (B3/S23; outside the board is dead)."""
    b = np.asarray(board, dtype=np.int8)
    padded = np.pad(b, 1)
    rows, cols = b.shape
    neighbours = sum(
        padded[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols]
        for dr in (-1, 0, 1)
        for dc in (-1, 0, 1)
        if dr or dc
    )
    return (neighbours == 3) | ((b == 1) & (neighbours == 2))


def gravity_step(grid: np.ndarray) -> np.ndarray:
    """int [h, w] (0 empty) -> every column's blocks at the bottom, in their order."""
    g = np.asarray(grid)
    out = np.zeros_like(g)
    for c in range(g.shape[1]):
        blocks = g[:, c][g[:, c] != 0]
        if len(blocks):
            out[-len(blocks) :, c] = blocks
    return out


def life(rng: np.random.Generator, size: int = 8) -> dict[str, Any]:
    if size < 3:
        raise InputError(f"life needs a board of at least 3x3, got {size}")
    while True:
        density = rng.uniform(0.2, 0.5)
        board = rng.random((size, size)) < density
        nxt = life_step(board)
        if not np.array_equal(board, nxt):
            return {"input": _life_text(board), "output": _life_text(nxt)}


def gravity(
    rng: np.random.Generator, min_size: int = 3, max_size: int = 6, colours: int = 3
) -> dict[str, Any]:
    if not 1 <= min_size <= max_size or colours < 1:
        raise InputError(
            f"gravity needs 1 <= min_size <= max_size and colours >= 1, got {min_size}, {max_size}"
        )
    while True:
        h, w = (int(v) for v in rng.integers(min_size, max_size + 1, size=2))
        filled = rng.random((h, w)) < rng.uniform(0.15, 0.45)
        grid = np.where(filled, rng.integers(1, colours + 1, size=(h, w)), 0)
        out = gravity_step(grid)
        if not np.array_equal(grid, out):
            return {"input": grid.tolist(), "output": out.tolist()}


def _life_text(board: np.ndarray) -> list[str]:
    return ["".join(LIFE_CHARS[int(v)] for v in row) for row in board]


EXAMPLES: dict[str, Callable[..., dict[str, Any]]] = {"life": life, "gravity": gravity}
# The build options each example task is meant for (documented in the README, "Your own task").
SUGGESTED = {"life": "--augment dihedral", "gravity": "--augment symbols --fixed-symbols 0"}


def generate(name: str, num: int, *, seed: int = 0, **options: Any) -> list[dict[str, Any]]:
    """``num`` examples of task ``name`` (see :data:`EXAMPLES`), all distinct, from ``seed``."""
    if name not in EXAMPLES:
        raise InputError(f"unknown example task {name!r}; known: {', '.join(sorted(EXAMPLES))}")
    if num < 1:
        raise InputError(f"num must be positive, got {num}")
    rng = np.random.default_rng([seed, sorted(EXAMPLES).index(name)])
    out, seen = [], set()
    for _ in range(50 * num):
        ex = EXAMPLES[name](rng, **options)
        key = json.dumps(ex["input"])
        if key not in seen:
            seen.add(key)
            out.append({"id": f"{name}-{len(out)}", **ex})
            if len(out) == num:
                return out
    raise InputError(f"only {len(out)} distinct {name} examples exist with {options}; asked for {num}")


def write_jsonl(path: str | Path, examples: list[dict[str, Any]]) -> Path:
    atomic_write_text(Path(path), "".join(json.dumps(ex, separators=(",", ":")) + "\n" for ex in examples))
    return Path(path)
