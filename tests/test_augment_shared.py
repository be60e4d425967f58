"""The augmentation every task shares (trm.data.augment): symbol maps fix what they must, invert exactly, and
ARC's colour permutation and the grid task's symbol permutation are that one function."""

from __future__ import annotations

import numpy as np
import pytest

from trm.data import augment
from trm.data.arc import augment as arc_augment
from trm.data.grid import augment as grid_augment


@pytest.mark.parametrize("seed", range(5))
def test_symbol_maps_move_only_the_movable_symbols_and_invert(seed):
    rng = np.random.default_rng(seed)
    movable = np.array([1, 3, 4, 6])
    maps = augment.permute_symbols(rng, 16, 8, movable)  # [16, 8]
    fixed = np.setdiff1d(np.arange(8), movable)
    assert (maps[:, fixed] == fixed).all()
    assert (np.sort(maps[:, movable], axis=1) == movable).all()
    inv = augment.inverse_maps(maps)
    assert (np.take_along_axis(inv, maps, axis=1) == np.arange(8)).all()
    grid = rng.integers(0, 8, size=(3, 5))
    for t in range(8):
        assert np.array_equal(augment.invert(t, maps[t], augment.apply(t, maps[t], grid)), grid)


@pytest.mark.parametrize("seed", range(5))
def test_arc_colours_and_grid_symbols_are_the_shared_permutation(seed):
    colours = arc_augment.random_colour_maps(np.random.default_rng(seed), 6)
    shared = augment.permute_symbols(np.random.default_rng(seed), 6, 10, np.arange(1, 10), dtype=np.uint8)
    assert colours.dtype == np.uint8 and np.array_equal(colours, shared) and (colours[:, 0] == 0).all()
    movable = np.array([0, 2, 3])
    perm = grid_augment.random_perm(np.random.default_rng(seed), 5, movable)
    assert np.array_equal(perm, augment.permute_symbols(np.random.default_rng(seed), 1, 5, movable)[0])
    assert perm[1] == 1 and perm[4] == 4


def test_line_orders_keep_groups_together():
    orders = augment.line_orders(np.random.default_rng(0), 20, 3, 3)  # a 9x9 Sudoku's bands and rows
    assert (np.sort(orders, axis=1) == np.arange(9)).all()
    bands = orders.reshape(20, 3, 3) // 3
    assert (bands == bands[:, :, :1]).all()  # the three rows of a new band come from one old band
