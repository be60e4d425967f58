"""The 8 symmetries of a square grid (dihedral group D4), shared by the Maze and ARC augmentations.

Transform t in 0..7: t % 4 = number of counter-clockwise quarter turns, t >= 4 adds a transpose first.
``apply(inverse(t), apply(t, g)) == g`` for every grid (also non-square ones).
"""

from __future__ import annotations

import numpy as np

NUM_TRANSFORMS = 8
# inverse[t]: rotations invert to the opposite rotation; transpose-then-rotate is its own inverse.
_INVERSE = (0, 3, 2, 1, 4, 5, 6, 7)


def apply(t: int, grid: np.ndarray) -> np.ndarray:
    """Apply transform ``t`` to the last two axes of ``grid``."""
    if not 0 <= t < NUM_TRANSFORMS:
        raise ValueError(f"dihedral transform must be in 0..7, got {t}")
    g = np.swapaxes(grid, -1, -2) if t >= 4 else grid
    return np.ascontiguousarray(np.rot90(g, k=t % 4, axes=(-2, -1)))


def inverse(t: int) -> int:
    return _INVERSE[t]
