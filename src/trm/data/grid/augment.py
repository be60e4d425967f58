"""Augmentations of grid examples: dihedral transforms and symbol permutations, applied to input and output
alike, and their exact inverses.

Design choices:

- A variant is ``(t, perm)``: dihedral transform ``t`` in 0..7 (:mod:`trm.data.dihedral`) and a symbol
  permutation ``perm`` (uint8 [K], new index of each symbol index) that moves only the permutable symbols
  (the fixed ones, e.g. a background, map to themselves). :func:`apply` relabels, then transforms.
- Which augmentations make sense is the user's call: a symbol permutation is right only when the task's
  rule does not depend on which symbol is which (gravity of coloured blocks, not Game of Life's dead/alive
  unless both are fixed), a dihedral transform only when the rule commutes with it.
- :func:`draw_variants` draws up to ``count`` variants per example from one seeded generator, keeping only
  variants whose (input, output) content is new (the identity is always variant 0, so the original is in
  every group), and gives up after ``20 * count`` draws (a symmetric example has few distinct variants).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trm.data import augment as shared
from trm.data import dihedral
from trm.errors import InputError

AUGMENTATIONS = ("dihedral", "symbols")


def identity(num_symbols: int) -> np.ndarray:
    return np.arange(num_symbols, dtype=np.uint8)


def parse_augment(text: str) -> tuple[str, ...]:
    """``"none"``, ``"dihedral"``, ``"symbols"`` or ``"dihedral,symbols"`` -> the set of augmentations."""
    parts = tuple(sorted({p.strip() for p in text.split(",") if p.strip()}))
    if parts in ((), ("none",)):
        return ()
    bad = [p for p in parts if p not in AUGMENTATIONS]
    if bad:
        raise InputError(f"unknown augmentation(s) {bad}; use none, dihedral, symbols or dihedral,symbols")
    return parts


def apply(t: int, perm: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Relabel symbols by ``perm``, then apply dihedral transform ``t`` (grid: uint8 [rows, cols])."""
    return shared.apply(t, np.asarray(perm, dtype=np.uint8), grid)


def invert(t: int, perm: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The inverse of :func:`apply`: ``invert(t, p, apply(t, p, g)) == g``."""
    return shared.invert(t, np.asarray(perm, dtype=np.uint8), grid)


def random_perm(rng: np.random.Generator, num_symbols: int, movable: np.ndarray) -> np.ndarray:
    """A permutation of ``movable`` symbol indices among themselves; the others stay (the symbol
    permutation of :mod:`trm.data.augment`, shared with ARC's colour permutation)."""
    return shared.permute_symbols(rng, 1, num_symbols, movable, dtype=np.uint8)[0]


def draw_variants(
    rng: np.random.Generator,
    inp: np.ndarray,
    out: np.ndarray,
    *,
    augmentations: Sequence[str],
    count: int,
    num_symbols: int,
    movable: np.ndarray,
) -> list[tuple[int, np.ndarray]]:
    """Up to ``1 + count`` distinct variants ``(t, perm)`` of one example, the identity first."""
    ident = identity(num_symbols)
    variants = [(0, ident)]
    seen = {_key(inp, out)}
    if not augmentations or count <= 0:
        return variants
    for _ in range(20 * count):
        if len(variants) > count:
            break
        t = int(rng.integers(dihedral.NUM_TRANSFORMS)) if "dihedral" in augmentations else 0
        perm = random_perm(rng, num_symbols, movable) if "symbols" in augmentations else ident
        key = _key(apply(t, perm, inp), apply(t, perm, out))
        if key not in seen:
            seen.add(key)
            variants.append((t, perm))
    return variants


def _key(a: np.ndarray, b: np.ndarray) -> bytes:
    return repr((a.shape, b.shape)).encode() + a.tobytes() + b.tobytes()
