"""Sudoku datasets from the generator: :func:`build_from_generator` (``trm data sudoku -s generate``).

Puzzles come in chunks of 64 draws from :func:`~trm.data.sudoku.generate` (from a process pool with
``workers > 1``); puzzle i depends on (seed, i) only, so the dataset does not depend on the number of
workers. The folder is written by :func:`trm.data.sudoku.build.write_dataset`, as the other builders'.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from trm.data.output import check_output
from trm.data.sudoku import generate
from trm.data.sudoku.build import BuildReport, check_val_count, write_dataset
from trm.data.sudoku.sources import Pairs
from trm.errors import InputError

_CHUNK = 64  # puzzles per generate() call (and per task of a worker process)


def _generate_chunk(args: tuple) -> list:
    size, count, min_blanks, target, seed, minimal, start = args
    return generate(size, count=count, min_blanks=min_blanks, target_rating=target, seed=seed,
                    minimal=minimal, start=start)  # fmt: skip


def _generated_chunks(
    size: int, min_blanks: int | None, target: Any, seed: int, minimal: bool, need: int, workers: int
) -> Iterator[list]:
    """Lists of generated puzzles in draw order, at most ``4 * need + 1000`` draws in all; with
    ``workers > 1`` the chunks come from a process pool, a wave of ``2 * workers`` chunks at a time."""
    starts = range(0, 4 * need + 1000, _CHUNK)
    tasks = ((size, _CHUNK, min_blanks, target, seed, minimal, s) for s in starts)
    if workers <= 1:
        yield from map(_generate_chunk, tasks)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from itertools import islice

    methods = multiprocessing.get_all_start_methods()  # fork: workers need not re-import torch
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        while wave := list(islice(tasks, 2 * workers)):
            yield from pool.map(_generate_chunk, wave)


def build_from_generator(
    out: str | Path,
    *,
    size: int = 9,
    train_count: int,
    test_count: int,
    num_aug: int = 100,
    min_blanks: int | None = None,
    min_rating: int | None = None,
    max_rating: int | None = None,
    minimal: bool = True,
    seed: int = 0,
    force: bool = False,
    progress: bool = False,
    workers: int = 1,
    val_count: int = 0,
) -> BuildReport:
    """Generated puzzles with unique solutions: the first ``test_count`` distinct puzzles of the seed's
    sequence are the test set, the next ``train_count`` the training set (so the test set does not change
    with ``train_count``), the next ``val_count`` a ``val`` split (held out, for choosing when to stop);
    no puzzle is in two. Ratings are :func:`~trm.data.sudoku.rate` guesses.
    ``workers`` processes generate in parallel; the result does not depend on it (puzzle i depends
    on (seed, i) only)."""
    if train_count <= 0 or test_count <= 0:
        raise InputError(f"train_count and test_count must be positive, got {train_count}, {test_count}")
    start = time.perf_counter()
    check_output(out, force)
    lo = 0 if min_rating is None else min_rating
    target = (
        None
        if min_rating is None and max_rating is None
        else (lo if max_rating is None else (lo, max_rating))
    )
    check_val_count(val_count)
    need = test_count + train_count + val_count
    found: dict[bytes, Any] = {}
    with tqdm(total=need, desc="generate", unit="puzzle", disable=not progress) as bar:
        for batch in _generated_chunks(size, min_blanks, target, seed, minimal, need, workers):
            for g in batch:
                if len(found) < need and g.puzzle.tobytes() not in found:
                    found[g.puzzle.tobytes()] = g
                    bar.update(1)
            if len(found) >= need:
                break
        else:
            raise InputError(
                f"only {len(found)} distinct {size}x{size} puzzles in {4 * need + 1000} draws; "
                "ask for fewer puzzles or relax min_blanks / the rating range"
            )
    puzzles = list(found.values())  # in draw order (dicts keep insertion order)

    def pairs(items: list) -> Pairs:
        return Pairs(
            np.stack([g.puzzle for g in items]),
            np.stack([g.solution for g in items]),
            np.array([g.rating for g in items], np.int64),
        )

    build = {
        "source": "generator",
        "rating_kind": "trm.data.sudoku.rate guesses",
        "options": {
            "size": size,
            "train_count": train_count,
            "test_count": test_count,
            "val_count": val_count,
            "min_blanks": min_blanks,
            "min_rating": min_rating,
            "max_rating": max_rating,
            "minimal": minimal,
        },
    }
    counts, ratings = write_dataset(
        out,
        pairs(puzzles[test_count : test_count + train_count]),
        pairs(puzzles[:test_count]),
        num_aug=num_aug,
        seed=seed,
        build=build,
        force=force,
        progress=progress,
        val=pairs(puzzles[test_count + train_count :]) if val_count else None,
    )
    return BuildReport(Path(out), counts, ratings, [], time.perf_counter() - start)
