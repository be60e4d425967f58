"""Sudoku dataset builders: from the hub (Sudoku-Extreme) or from local files; the generator's is in
:mod:`trm.data.sudoku.build_generated`. All write through :func:`write_dataset`.

Design choices:

- Every builder ends in :func:`write_dataset`: a folder with ``train/`` and ``test/`` splits in trm's format
  (:mod:`trm.data.format`), task ``sudoku``, vocabulary N+2 (PAD 0, blank 1, digit d -> d+1), sequence
  N*N, one shared puzzle identifier 0 (as the papers), ``ignore_label_id`` 0 (= PAD, which labels never
  hold: every cell is scored).
- A training puzzle becomes a group of ``1 + num_aug`` puzzles: the original first, then ``num_aug``
  random symmetries (:func:`~trm.data.sudoku.augment_batch`, vectorised over the variants); each puzzle has
  one example. A test puzzle is its own group and is never augmented.
- Seeded throughout: the sub-sampling draws from ``default_rng([seed, 0])``, the train/test split from
  ``[seed, 1]``, the augmentations from ``[seed, 2]``, the validation puzzles held out of the training
  ones (``val_count``, hub and files; after the sub-sample) from ``[seed, 3]``. No time stamps or output
  paths are written, so two builds with the same inputs and seed are byte-identical, file by file.
- Each split also stores ``ratings.npy`` [G] int64: the rating of each group's original puzzle (-1 when
  unknown); the folder's ``ratings.json`` and each split's ``build["ratings"]`` hold a summary with a
  histogram. Sudoku-Extreme's ratings are tdoku backtracks; ours (files without ratings, the generator) are
  :func:`~trm.data.sudoku.rate`'s guesses: the two scales differ.
- Reading and checking the sources (the hub CSV, users' files) is :mod:`trm.data.sudoku.sources`: a
  puzzle that is not uniquely solvable is *rejected* (left out, reported with its file and line), and so is
  a training puzzle that is also in the test file.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from trm.data.format import DatasetMetadata, atomic_save_npy, write_split
from trm.data.output import building, check_output
from trm.data.sudoku import augment_batch, box_shape, to_tokens
from trm.data.sudoku.sources import Pairs, Rejected, check_file, read_hub_csv
from trm.errors import InputError
from trm.files import atomic_write_text

HUB_REPO = "sapientinc/sudoku-extreme"
RATINGS_FILE = "ratings.json"
REJECTED_FILE = "rejected.txt"


@dataclass
class BuildReport:
    out: Path
    counts: dict[str, int]  # train_puzzles (originals), train_examples, test_puzzles
    ratings: dict[str, dict[str, Any]]  # split -> rating summary (see rating_summary)
    rejected: list[Rejected] = field(default_factory=list)
    seconds: float = 0.0


def rating_summary(ratings: np.ndarray) -> dict[str, Any]:
    """Count, min/median/mean/max and a histogram in power-of-two bins [0], [1], [2-3], [4-7], ...
    of the known ratings (-1 = unknown)."""
    r = np.asarray(ratings, dtype=np.int64)
    known = r[r >= 0]
    out: dict[str, Any] = {"count": int(len(r)), "unrated": int(len(r) - len(known))}
    if not len(known):
        return {**out, "histogram": []}
    bins = np.where(known > 0, np.floor(np.log2(np.maximum(known, 1))).astype(np.int64) + 1, 0)
    histogram = []
    for b, c in zip(*np.unique(bins, return_counts=True), strict=True):
        lo, hi = (0, 0) if b == 0 else (2 ** (int(b) - 1), 2 ** int(b) - 1)
        histogram.append({"min": lo, "max": hi, "count": int(c)})
    return {
        **out,
        "min": int(known.min()),
        "median": float(np.median(known)),
        "mean": round(float(known.mean()), 3),
        "max": int(known.max()),
        "histogram": histogram,
    }


def write_dataset(
    out: str | Path,
    train: Pairs,
    test: Pairs,
    *,
    num_aug: int,
    seed: int,
    build: dict[str, Any],
    force: bool = False,
    progress: bool = False,
    rejected: list[Rejected] | None = None,
    val: Pairs | None = None,
) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    """Augment the training puzzles and write both splits (and ``val``, held out like the test set, when
    given) plus ``ratings.json`` (and ``rejected.txt`` listing ``rejected``, one per line, when there are
    any); returns (counts, ratings). ``out`` is replaced only when everything is written
    (:mod:`trm.data.output`)."""
    out = Path(out)
    check_output(out, force)
    if num_aug < 0:
        raise InputError(f"num_aug must be >= 0, got {num_aug}")
    if not len(train.questions) or not len(test.questions):
        raise InputError(
            f"both splits need puzzles (train {len(train.questions)}, test {len(test.questions)})"
        )
    n = train.questions.shape[1]
    if test.questions.shape[1] != n:
        k = test.questions.shape[1]
        raise InputError(f"train puzzles are {n}x{n} but test puzzles are {k}x{k}")
    box_shape(n)
    held_out = {"test": test, **({"val": val} if val is not None else {})}
    ratings = {"train": rating_summary(train.ratings)}
    ratings.update({name: rating_summary(p.ratings) for name, p in held_out.items()})
    rng = np.random.default_rng([seed, 2])
    group = 1 + num_aug
    m = len(train.questions)
    inputs = np.empty((m * group, n * n), np.uint8)  # [T*(1+A), N*N]
    labels = np.empty_like(inputs)
    for i in tqdm(range(m), desc="augment", unit="puzzle", disable=not progress):
        q, a = train.questions[i], train.answers[i]
        rows = slice(i * group, (i + 1) * group)  # the original first, then its variants
        inputs[rows.start], labels[rows.start] = to_tokens(q), to_tokens(a)
        if num_aug:
            qs, as_ = augment_batch(q, a, rng, num_aug)  # [A, N, N] each
            inputs[rows.start + 1 : rows.stop] = to_tokens(qs).reshape(num_aug, n * n)
            labels[rows.start + 1 : rows.stop] = to_tokens(as_).reshape(num_aug, n * n)
    splits = {"train": (inputs, labels, np.arange(0, m * group + 1, group))}
    for name, p in held_out.items():
        qs = to_tokens(p.questions).reshape(-1, n * n)
        splits[name] = (qs, to_tokens(p.answers).reshape(-1, n * n), np.arange(len(qs) + 1))
    with building(out, force) as tmp:
        for name, (x, y, groups) in splits.items():
            meta = DatasetMetadata(
                task="sudoku",
                vocab_size=n + 2,
                seq_len=n * n,
                grid_shape=(n, n),
                num_puzzle_identifiers=1,
                ignore_label_id=0,
                build={
                    **build,
                    "seed": seed,
                    "num_aug": num_aug if name == "train" else 0,
                    "ratings": ratings[name],
                },
            )
            path = write_split(
                tmp,
                name,
                inputs=x,
                labels=y,
                puzzle_identifiers=np.zeros(len(x), np.int32),  # one shared identifier, as the papers
                puzzle_indices=np.arange(len(x) + 1),  # one example per puzzle
                group_indices=groups,
                metadata=meta,
            )
            pairs_of = {"train": train, **held_out}[name]
            atomic_save_npy(path / "ratings.npy", pairs_of.ratings.astype(np.int64))
        atomic_write_text(tmp / RATINGS_FILE, json.dumps(ratings, indent=2, sort_keys=True) + "\n")
        if rejected:
            atomic_write_text(tmp / REJECTED_FILE, "".join(f"{r}\n" for r in rejected))
    counts = {"train_puzzles": m, "train_examples": m * group, "test_puzzles": len(test.questions)}
    if val is not None:
        counts["val_puzzles"] = len(val.questions)
    return counts, ratings


# -- (a) Sudoku-Extreme from the Hugging Face hub ------------------------------------------------------------
def build_from_hub(
    out: str | Path,
    *,
    repo_id: str = HUB_REPO,
    subsample: int | None = 1000,
    num_aug: int = 1000,
    test_limit: int | None = None,
    seed: int = 0,
    min_difficulty: int | None = None,
    cache_dir: str | None = None,
    force: bool = False,
    progress: bool = False,
    val_count: int = 0,
) -> BuildReport:
    """The papers' Sudoku-Extreme set: ``subsample`` training puzzles (seeded; None: all) with ``num_aug``
    augmentations each, and the test set (all of it, or a seeded ``test_limit`` rows in file order).
    ``min_difficulty`` keeps only training rows rated at least that (tdoku backtracks). ``val_count``
    of the sub-sampled training puzzles, drawn by ``seed``, go to a ``val`` split instead."""
    from huggingface_hub import hf_hub_download

    start = time.perf_counter()
    check_output(out, force)
    check_val_count(val_count)
    files = {
        s: hf_hub_download(repo_id, f"{s}.csv", repo_type="dataset", cache_dir=cache_dir)
        for s in ("train", "test")
    }

    def pick_train(ratings: np.ndarray) -> np.ndarray:
        rows = (
            np.flatnonzero(ratings >= min_difficulty)
            if min_difficulty is not None
            else np.arange(len(ratings))
        )
        if subsample is not None and subsample < len(rows):
            rows = np.sort(np.random.default_rng([seed, 0]).choice(rows, subsample, replace=False))
        return rows

    def pick_test(ratings: np.ndarray) -> np.ndarray:
        if test_limit is None or test_limit >= len(ratings):
            return np.arange(len(ratings))
        return np.sort(np.random.default_rng([seed, 1]).choice(len(ratings), test_limit, replace=False))

    train, val = hold_out(read_hub_csv(files["train"], pick_train), val_count, seed)
    test = read_hub_csv(files["test"], pick_test if test_limit is not None else None)
    build = {
        "source": f"hub:{repo_id}",
        "rating_kind": "tdoku backtracks (from the CSV)",
        "options": {
            "subsample": subsample, "test_limit": test_limit, "min_difficulty": min_difficulty,
            "val_count": val_count,
        },
    }  # fmt: skip
    counts, ratings = write_dataset(
        out, train, test, num_aug=num_aug, seed=seed, build=build, force=force, progress=progress, val=val
    )
    return BuildReport(Path(out), counts, ratings, [], time.perf_counter() - start)


# -- (b) local text or CSV files ----------------------------------------------------------------------------
def _take(pairs: Pairs, rows: np.ndarray) -> Pairs:
    return Pairs(pairs.questions[rows], pairs.answers[rows], pairs.ratings[rows])


def check_val_count(val_count: int) -> None:
    if val_count < 0:
        raise InputError(f"val_count must be >= 0, got {val_count}")


def hold_out(train: Pairs, val_count: int, seed: int) -> tuple[Pairs, Pairs | None]:
    """(the training puzzles left, ``val_count`` of them drawn by ``seed`` or None when 0), both in their
    original order; at least one training puzzle must remain."""
    check_val_count(val_count)
    if not val_count:
        return train, None
    m = len(train.questions)
    if val_count >= m:
        raise InputError(f"val_count={val_count} leaves no training puzzle (there are {m})")
    chosen = np.zeros(m, dtype=bool)
    chosen[np.random.default_rng([seed, 3]).choice(m, size=val_count, replace=False)] = True
    return _take(train, np.flatnonzero(~chosen)), _take(train, np.flatnonzero(chosen))


def build_from_files(
    out: str | Path,
    train_path: str | Path,
    test_path: str | Path | None = None,
    *,
    test_fraction: float = 0.1,
    train_count: int | None = None,
    num_aug: int = 100,
    seed: int = 0,
    strict: bool = False,
    force: bool = False,
    progress: bool = False,
    val_count: int = 0,
) -> BuildReport:
    """Puzzles from local files (one per line, grids, or ``source,question,answer,rating`` CSV).

    Without ``test_path`` a seeded ``test_fraction`` of the training file is held out. ``train_count``
    keeps a seeded sub-sample of the training puzzles; ``val_count`` of those, drawn by ``seed``, go to a
    ``val`` split instead (so the test split does not change with it). Rejected puzzles are returned in
    the report."""
    start = time.perf_counter()
    check_output(out, force)
    check_val_count(val_count)
    train, train_lines, rejected = check_file(train_path, strict=strict, progress=progress)
    if test_path is not None:
        test, _, test_rejected = check_file(test_path, strict=strict, progress=progress)
        rejected += test_rejected
        test_keys = {q.tobytes() for q in test.questions}
        overlap = [i for i, q in enumerate(train.questions) if q.tobytes() in test_keys]
        for i in overlap:
            reason = f"also in the test file {test_path}"
            if strict:
                raise InputError(reason, file=str(train_path), line=train_lines[i])
            rejected.append(Rejected(str(train_path), train_lines[i], reason))
        train = _take(train, np.setdiff1d(np.arange(len(train.questions)), overlap))
    else:
        if not 0 < test_fraction < 1:
            raise InputError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
        m = len(train.questions)
        num_test = min(max(1, round(m * test_fraction)), m - 1)
        if num_test < 1:
            raise InputError(
                f"{m} usable puzzle(s) cannot be split into train and test", file=str(train_path)
            )
        order = np.random.default_rng([seed, 1]).permutation(m)
        test, train = _take(train, np.sort(order[:num_test])), _take(train, np.sort(order[num_test:]))
    if train_count is not None and train_count < len(train.questions):
        train = _take(
            train,
            np.sort(
                np.random.default_rng([seed, 0]).choice(len(train.questions), train_count, replace=False)
            ),
        )
    train, val = hold_out(train, val_count, seed)
    build = {
        "source": "file",
        "rating_kind": "from the file where given, else trm.data.sudoku.rate guesses",
        "options": {
            "train_path": str(train_path),
            "test_path": None if test_path is None else str(test_path),
            "test_fraction": None if test_path is not None else test_fraction,
            "train_count": train_count,
            "val_count": val_count,
        },
        "rejected": len(rejected),
    }
    counts, ratings = write_dataset(
        out, train, test, num_aug=num_aug, seed=seed, build=build, force=force, progress=progress,
        rejected=rejected, val=val,
    )  # fmt: skip
    return BuildReport(Path(out), counts, ratings, rejected, time.perf_counter() - start)
