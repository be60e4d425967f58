"""ARC augmentations invert exactly; the EOS-border encoding round-trips; variants are distinct and seeded."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from trm.data.arc import augment
from trm.data.arc.encode import EOS, PAD, SIDE, crop, crop_shapes, encode_grid, find_grid
from trm.data.arc.task import ArcTask


@pytest.mark.parametrize("t", range(8))
def test_every_transform_with_random_colour_maps_is_undone_exactly(t, rng):
    for _ in range(25):
        h, w = rng.integers(1, 31, size=2)
        grid = rng.integers(0, 10, size=(h, w)).astype(np.uint8)
        cmap = augment.random_colour_maps(rng, 1)[0]
        assert cmap[0] == 0 and sorted(cmap.tolist()) == list(range(10))
        out = augment.apply(t, cmap, grid)
        assert out.shape == ((w, h) if t in (1, 3, 4, 6) else (h, w))
        assert np.array_equal(np.bincount(out.ravel(), minlength=10), np.bincount(grid.ravel(), minlength=10)[
            augment.inverse_map(cmap)])  # fmt: skip
        back = augment.invert(t, cmap, out)
        assert back.dtype == grid.dtype and np.array_equal(back, grid)


def test_the_eight_transforms_are_distinct_on_an_asymmetric_grid():
    grid = np.arange(6, dtype=np.uint8).reshape(2, 3)
    outs = {
        augment.apply(t, augment.IDENTITY_MAP, grid).tobytes()
        + bytes(augment.apply(t, augment.IDENTITY_MAP, grid).shape)
        for t in range(8)
    }
    assert len(outs) == 8


def test_encoding_draws_grid_border_and_padding(rng):
    for h, w in [(1, 1), (3, 5), (30, 30), (30, 7), (12, 30)]:
        grid = rng.integers(0, 10, size=(h, w)).astype(np.uint8)
        tokens = encode_grid(grid).reshape(SIDE, SIDE)
        assert np.array_equal(tokens[:h, :w], grid + 2)
        if h < SIDE:
            assert (tokens[h, :w] == EOS).all()
        if w < SIDE:
            assert (tokens[:h, w] == EOS).all()
        if h < SIDE and w < SIDE:
            assert tokens[h, w] == PAD  # the corner cell stays PAD, as in the reference builder
        border = (h < SIDE) * w + (w < SIDE) * h
        assert int((tokens == EOS).sum()) == border
        assert int((tokens == PAD).sum()) == SIDE * SIDE - h * w - border
        assert np.array_equal(crop(tokens), grid)
        assert ArcTask().decode(tokens.reshape(-1), (30, 30)).tolist() == grid.tolist()


def test_translated_grids_are_found_and_vectorised_crop_agrees(rng):
    rows = []
    for i in range(200):
        h, w = rng.integers(1, 31, size=2)
        grid = rng.integers(0, 10, size=(h, w)).astype(np.uint8)
        r, c = rng.integers(0, SIDE - h + 1), rng.integers(0, SIDE - w + 1)
        assert np.array_equal(find_grid(encode_grid(grid, (r, c))), grid)
        rows.append(encode_grid(grid) if i % 2 else rng.integers(0, 12, size=SIDE * SIDE).astype(np.uint8))
    heights, widths = crop_shapes(np.stack(rows))
    for tokens, h, w in zip(rows, heights, widths, strict=True):
        g = crop(tokens)
        assert (h, w) == ((0, 0) if g is None else g.shape)


def _brute_force_distinct(grids):
    """Number of distinct contents over all 8 transforms x the colour maps that matter (used colours only)."""
    used = sorted({int(c) for g in grids for c in np.unique(g)} - {0})
    seen = set()
    for t in range(8):
        for image in itertools.permutations(range(1, 10), len(used)):
            cmap = augment.IDENTITY_MAP.copy()
            cmap[used] = image
            seen.add(
                b"".join(
                    augment.apply(t, cmap, g).tobytes() + bytes(augment.apply(t, cmap, g).shape)
                    for g in grids
                )
            )
    return len(seen)


def test_variants_are_distinct_identity_first_and_complete_for_small_tasks(rng):
    # A two-colour task with symmetries: only 9 colour choices x 2 distinct orientations exist.
    grids = [np.array([[0, 3, 0], [3, 3, 3], [0, 3, 0]], np.uint8), np.array([[3, 0], [0, 3]], np.uint8)]
    expected = _brute_force_distinct(grids)
    ts, maps = augment.sample_variants(grids, 1000, augment.task_rng(0, "sym"))
    assert len(ts) == expected == 9 * 2  # the plus is D4-symmetric, the diagonal has 2 orientations
    assert ts[0] == 0 and np.array_equal(maps[0], augment.IDENTITY_MAP)
    contents = {
        b"".join(augment.apply(t, m, g).tobytes() for g in grids) for t, m in zip(ts, maps, strict=True)
    }
    assert len(contents) == len(ts)
    asym = [rng.integers(0, 10, size=(3, 4)).astype(np.uint8)]
    ts, maps = augment.sample_variants(asym, 50, augment.task_rng(0, "asym"))
    assert len(ts) == 50 and len({(int(t), m.tobytes()) for t, m in zip(ts, maps, strict=True)}) == 50


def test_variants_depend_only_on_seed_and_task_name(rng):
    grids = [rng.integers(0, 10, size=(4, 5)).astype(np.uint8)]
    a = augment.sample_variants(grids, 20, augment.task_rng(7, "task-a"))
    b = augment.sample_variants(grids, 20, augment.task_rng(7, "task-a"))
    c = augment.sample_variants(grids, 20, augment.task_rng(8, "task-a"))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])
