"""Simple deterministic grid rules on n x n boards: "your own rule" (``trm data example RULE --out``).

Each rule maps a board of integers 0..k-1 to a board of the same size, the same way for every example;
a rule with a hidden choice (which cells go where, which symbol becomes which) draws it once from the
seed, so one seed is one rule:

- ``permutation``: output cell i is input cell p(i), for a fixed random permutation p of the n*n cells.
- ``symbol_map``: every symbol s becomes m(s), for a fixed random permutation m of the k symbols that
  moves all of them.
- ``permute_map``: the composition, a permutation of cells then a symbol map (each output cell is a
  function of one input cell; the README's "your own task" trial).
- ``gravity``: blocks (1..k-1) fall to the bottom of their column, keeping their order; 0 is empty.
- ``flood_fill``: 0 empty, 1 wall, 2 one seed cell; the empty region 4-connected to the seed becomes 2.
- ``life``: one step of Conway's Game of Life (0 dead, 1 alive, outside the board dead).

Every example's output differs from its input (copying the question scores 0% exact) and inputs are
distinct. :data:`AUGMENT` gives the build augmentation each rule respects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trm.data.grid.examples import gravity_step, life_step
from trm.errors import InputError

Board = np.ndarray  # int [n, n]


@dataclass(frozen=True)
class Rule:
    name: str
    size: int
    symbols: int
    apply: Callable[[Board], Board]
    sample: Callable[[np.random.Generator], Board]  # a question


def _uniform(size: int, symbols: int) -> Callable[[np.random.Generator], Board]:
    return lambda rng: rng.integers(0, symbols, size=(size, size))


def _derangement(rng: np.random.Generator, k: int) -> np.ndarray:
    while True:
        m = rng.permutation(k)
        if not np.any(m == np.arange(k)):
            return m


def _flood_fill(board: Board) -> Board:
    out = board.copy()
    stack = [tuple(int(v) for v in p) for p in np.argwhere(board == 2)]
    n, m = board.shape
    while stack:
        r, c = stack.pop()
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= rr < n and 0 <= cc < m and out[rr, cc] == 0:
                out[rr, cc] = 2
                stack.append((rr, cc))
    return out


def _flood_sample(size: int) -> Callable[[np.random.Generator], Board]:
    def sample(rng: np.random.Generator) -> Board:
        board = (rng.random((size, size)) < rng.uniform(0.2, 0.45)).astype(np.int64)
        r, c = (int(v) for v in rng.integers(0, size, size=2))
        board[r, c] = 2
        return board

    return sample


def _blocks(size: int, symbols: int) -> Callable[[np.random.Generator], Board]:
    def sample(rng: np.random.Generator) -> Board:
        filled = rng.random((size, size)) < rng.uniform(0.15, 0.45)
        return np.where(filled, rng.integers(1, symbols, size=(size, size)), 0)

    return sample


def _life_sample(size: int) -> Callable[[np.random.Generator], Board]:
    return lambda rng: (rng.random((size, size)) < rng.uniform(0.2, 0.5)).astype(np.int64)


# name -> (symbol count when fixed by the rule, else None; smallest symbol count)
_SYMBOLS: dict[str, tuple[int | None, int]] = {
    "permutation": (None, 2),
    "symbol_map": (None, 2),
    "permute_map": (None, 2),
    "gravity": (None, 2),
    "flood_fill": (3, 3),
    "life": (2, 2),
}
RULES = tuple(_SYMBOLS)
DEFAULT_SYMBOLS = 4
# The build augmentation each rule commutes with (``trm data grids --augment``; gravity keeps 0 fixed).
AUGMENT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "permutation": (("symbols",), ()),
    "symbol_map": (("dihedral",), ()),
    "permute_map": ((), ()),
    "gravity": (("symbols",), ("0",)),
    "flood_fill": (("dihedral",), ()),
    "life": (("dihedral",), ()),
}


def make_rule(name: str, *, size: int = 6, symbols: int | None = None, seed: int = 0) -> Rule:
    """Rule ``name`` on ``size`` x ``size`` boards over ``symbols`` symbols; hidden choices from ``seed``."""
    if name not in _SYMBOLS:
        raise InputError(f"unknown rule {name!r}; the rules: {', '.join(RULES)}")
    fixed, least = _SYMBOLS[name]
    if fixed is not None and symbols not in (None, fixed):
        raise InputError(f"rule {name!r} uses exactly {fixed} symbols; --symbols {symbols} does not apply")
    k = fixed or (DEFAULT_SYMBOLS if symbols is None else symbols)
    if k < least:
        raise InputError(f"rule {name!r} needs at least {least} symbols, got {k}")
    if size < 2 or (name == "life" and size < 3):
        raise InputError(f"rule {name!r} needs a larger board than {size}x{size}")
    rng = np.random.default_rng([seed, RULES.index(name), size, k])
    cells = rng.permutation(size * size)
    m = _derangement(rng, k)
    apply: Callable[[Board], Board]
    if name == "permutation":
        apply = lambda b: b.reshape(-1)[cells].reshape(b.shape)  # noqa: E731
    elif name == "symbol_map":
        apply = lambda b: m[b]  # noqa: E731
    elif name == "permute_map":
        apply = lambda b: m[b.reshape(-1)[cells].reshape(b.shape)]  # noqa: E731
    elif name == "gravity":
        apply = gravity_step
    elif name == "flood_fill":
        apply = _flood_fill
    else:
        apply = lambda b: life_step(b).astype(np.int64)  # noqa: E731
    sample = {"gravity": _blocks(size, k), "flood_fill": _flood_sample(size), "life": _life_sample(size)}
    return Rule(name, size, k, apply, sample.get(name, _uniform(size, k)))


def examples(rule: Rule, train: int, test: int, *, seed: int = 0, val: int = 0) -> list[dict]:
    """``train`` + ``test`` (+ ``val``) distinct examples of ``rule`` as JSONL records with ``split`` and
    ``id``, in that order (so the training and test examples do not change with ``val``)."""
    if train < 1 or test < 1:
        raise InputError(f"need at least one training and one test example, got {train} and {test}")
    if val < 0:
        raise InputError(f"val must be >= 0, got {val}")
    rng = np.random.default_rng([seed, RULES.index(rule.name), 1])
    out: list[dict] = []
    seen: set[bytes] = set()
    total = train + test + val
    for _ in range(50 * total):
        x = rule.sample(rng)
        y = rule.apply(x)
        if np.array_equal(x, y) or x.tobytes() in seen:
            continue
        seen.add(x.tobytes())
        split = "train" if len(out) < train else "test" if len(out) < train + test else "val"
        out.append(
            {"id": f"{rule.name}-{len(out)}", "split": split, "input": x.tolist(), "output": y.tolist()}
        )
        if len(out) == total:
            return out
    raise InputError(
        f"only {len(out)} distinct {rule.name} examples on {rule.size}x{rule.size} boards; "
        f"asked for {train + test + val}"
    )
