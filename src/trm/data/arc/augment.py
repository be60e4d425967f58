"""ARC augmentations: a dihedral transform and a colour permutation, the same for every grid of a task.

An augmentation is ``(t, colour_map)``: ``t`` in 0..7 (see :mod:`trm.data.dihedral`) and ``colour_map``, a
uint8 [10] permutation with ``colour_map[0] == 0`` (black, the background, stays; the symbol permutation of
:mod:`trm.data.augment`, shared with the user grid task). It maps a grid ``g`` to
``colour_map[dihedral.apply(t, g)]``; :func:`invert` undoes it exactly.

Design choices:

- Variant 0 of every task is the identity, so the original task is always trained on and voted for.
- Further variants are drawn at random and deduplicated by content: two augmentations that give the same
  grids (a task using only colours 0 and 5 has at most 9 x 8 distinct variants) count once. Drawing stops at
  ``max_variants`` distinct ones or after ``retries_factor * max_variants`` draws.
- Vectorised: for each transform the task's grids are transformed once and concatenated into one flat
  vector; all candidate colour maps of that transform are then applied with one gather, ``maps[:, flat]``,
  and each row's bytes is the dedup key. No per-variant Python loop over grids.
- Seeded per task: ``np.random.default_rng([seed, crc32(task name)])``, so a task's variants do not depend on
  which other tasks are in the build or on their order.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from trm.data import augment as shared
from trm.data import dihedral

NUM_COLOURS = 10
IDENTITY_MAP = np.arange(NUM_COLOURS, dtype=np.uint8)


def apply(t: int, colour_map: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Augment one grid [h, w] (or a stack [..., h, w])."""
    return shared.apply(t, np.asarray(colour_map, dtype=np.uint8), grid)


def inverse_map(colour_map: np.ndarray) -> np.ndarray:
    return shared.inverse_maps(np.asarray(colour_map, dtype=np.uint8))


def invert(t: int, colour_map: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Undo :func:`apply`: ``invert(t, m, apply(t, m, g)) == g``."""
    return shared.invert(t, np.asarray(colour_map, dtype=np.uint8), grid)


def random_colour_maps(rng: np.random.Generator, n: int) -> np.ndarray:
    """[n, 10] uint8 random permutations of colours 1..9, colour 0 fixed (the shared symbol permutation)."""
    return shared.permute_symbols(rng, n, NUM_COLOURS, np.arange(1, NUM_COLOURS), dtype=np.uint8)


def task_rng(seed: int, name: str, stream: int = 0) -> np.random.Generator:
    """A generator that depends only on (seed, task name, stream)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8")), stream])


def _flat_per_transform(grids: Sequence[np.ndarray]) -> list[tuple[bytes, np.ndarray]]:
    """For each t: (shape signature, all grids transformed and concatenated [cells])."""
    out = []
    for t in range(dihedral.NUM_TRANSFORMS):
        moved = [dihedral.apply(t, g) for g in grids]
        shapes = np.array([g.shape for g in moved], dtype=np.int16).tobytes()
        out.append((shapes, np.concatenate([g.reshape(-1) for g in moved])))
    return out


def sample_variants(
    grids: Sequence[np.ndarray],
    max_variants: int,
    rng: np.random.Generator,
    *,
    retries_factor: int = 5,
) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``max_variants`` augmentations of a task whose grids are ``grids``, distinct by content.

    Returns ``transforms`` [V] uint8 and ``colour_maps`` [V, 10] uint8; row 0 is the identity.
    """
    if max_variants < 1:
        raise ValueError(f"max_variants must be >= 1, got {max_variants}")
    flat = _flat_per_transform(grids)
    seen: set[bytes] = {flat[0][0] + flat[0][1].tobytes()}
    keep_t, keep_m = [np.zeros(1, np.uint8)], [IDENTITY_MAP[None].copy()]
    kept, drawn, budget = 1, 0, retries_factor * max_variants
    while kept < max_variants and drawn < budget:
        n = min(budget - drawn, max(64, 2 * (max_variants - kept)))
        ts = rng.integers(0, dihedral.NUM_TRANSFORMS, size=n).astype(np.uint8)
        maps = random_colour_maps(rng, n)
        drawn += n
        keys: list[bytes | None] = [None] * n
        for t in range(dihedral.NUM_TRANSFORMS):
            idx = np.flatnonzero(ts == t)
            if idx.size == 0:
                continue
            shapes, cells = flat[t]
            content = maps[idx][:, cells]  # [n_t, cells] uint8: the gather that applies every colour map
            for i, row in zip(idx, content, strict=True):
                keys[i] = shapes + row.tobytes()
        take = []
        for i, key in enumerate(keys):  # in draw order, so the result is deterministic
            if kept + len(take) >= max_variants:
                break
            if key not in seen:
                seen.add(key)
                take.append(i)
        kept += len(take)
        keep_t.append(ts[take])
        keep_m.append(maps[take])
    return np.concatenate(keep_t), np.concatenate(keep_m)
