"""Build a dataset in trm's format from a user's grid examples (:mod:`trm.data.grid.parse`).

Design choices:

- Canvas. Every grid is drawn at the top-left of one canvas with ARC's EOS border
  (:func:`trm.data.arc.encode.encode_grid`); the canvas is as large as the largest grid of the data
  (square when dihedral transforms are on, since they swap rows and columns), not 30x30, so a 6x6 task
  has 36 tokens. Label PAD cells are not scored (``ignore_label_id=0``); EOS borders are, so the size of
  the answer is part of being right.
- Split. An example's own ``split`` wins; of the others, ``round(test_fraction * n)`` drawn by ``seed``
  go to test (at least one when the data has no test example at all), then ``val_count`` more to a
  ``val`` split (held out like test, for deciding when training may stop without reading the test
  split; the test draw does not change with it). The same file and seed give byte-identical datasets.
- Layout as Sudoku and Maze: one shared puzzle identifier; every training example is a group whose puzzles
  are its augmented variants (one example each), so an epoch sees one random variant of each example.
  Test and validation examples are never augmented.
- Metadata (``build``): the vocabulary (symbol <-> token, read back by :class:`trm.data.grid.task.GridTask`),
  the options, the counts, how many test inputs also occur in training, and what copying the input would
  score on the test split (the baseline a model has to beat).
- Atomic: both splits are written into a temporary folder beside ``out`` that is renamed into place, so a
  failed build leaves nothing half-written; an existing dataset at ``out`` is replaced, any other non-empty
  folder is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trm.data.arc.encode import encode_grid
from trm.data.format import DatasetMetadata, write_split
from trm.data.grid import augment
from trm.data.grid.parse import DEFAULT_MAX_SIZE, GridExample, read_source
from trm.data.grid.vocab import Vocabulary
from trm.data.output import building, check_output
from trm.errors import InputError

TASK = "grid"


@dataclass
class GridOptions:
    test_fraction: float = 0.1
    augment: tuple[str, ...] = ()
    fixed_symbols: tuple[str, ...] = ()
    num_aug: int = 7  # augmented variants per training example, beside the original
    max_size: int = DEFAULT_MAX_SIZE
    seed: int = 0
    vocabulary: tuple[str, ...] | None = None  # given: unknown symbols are errors; None: inferred
    val_count: int = 0  # examples without a split held out as ``val`` (after the test draw)

    def __post_init__(self) -> None:
        if not 0 <= self.test_fraction < 1:
            raise InputError(f"test_fraction must be in [0, 1), got {self.test_fraction}")
        if self.val_count < 0:
            raise InputError(f"val_count must be >= 0, got {self.val_count}")
        if self.num_aug < 0 or self.seed < 0:
            raise InputError(f"num_aug and seed must be >= 0, got {self.num_aug} and {self.seed}")
        if self.fixed_symbols and "symbols" not in self.augment:
            raise InputError("fixed symbols only matter with the 'symbols' augmentation")


@dataclass
class GridDataset:
    """What a build wrote: metadata per split, the vocabulary and the original examples per split."""

    metadata: dict[str, DatasetMetadata]
    vocabulary: Vocabulary
    examples: dict[str, list[tuple[GridExample, np.ndarray, np.ndarray]]] = field(default_factory=dict)


def assign_splits(
    examples: Sequence[GridExample], test_fraction: float, seed: int, val_count: int = 0
) -> list[str]:
    """The split of every example: its own, or the seeded draw (see the module docstring)."""
    splits = [ex.split for ex in examples]
    free = [i for i, s in enumerate(splits) if s is None]
    n_test = int(round(test_fraction * len(free)))
    if test_fraction > 0 and n_test == 0 and "test" not in splits and len(free) > 1:
        n_test = 1
    if val_count > len(free) - n_test:
        raise InputError(
            f"val_count={val_count}, but only {len(free) - n_test} examples without a split are left "
            f"after the test draw ({len(free)} without a split, {n_test} to test)"
        )
    order = np.random.default_rng([seed, 0]).permutation(len(free)).tolist()
    drawn = {j: "test" for j in order[:n_test]} | {j: "val" for j in order[n_test : n_test + val_count]}
    for j, i in enumerate(free):
        splits[i] = drawn.get(j, "train")
    return splits  # type: ignore[return-value]


def canvas_shape(grids: Sequence[np.ndarray], square: bool) -> tuple[int, int]:
    rows = max(g.shape[0] for g in grids)
    cols = max(g.shape[1] for g in grids)
    return (max(rows, cols),) * 2 if square else (rows, cols)


def _arrays(pairs, shape, options: GridOptions, vocab: Vocabulary, train: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([options.seed, 1])
    movable = vocab.permutable(options.fixed_symbols)
    inputs, labels, group_indices = [], [], [0]
    for _, x, y in pairs:
        variants = (
            augment.draw_variants(
                rng,
                x,
                y,
                augmentations=options.augment,
                count=options.num_aug,
                num_symbols=vocab.size,
                movable=movable,
            )  # fmt: skip
            if train
            else [(0, augment.identity(vocab.size))]
        )
        for t, perm in variants:
            inputs.append(encode_grid(augment.apply(t, perm, x), shape=shape))
            labels.append(encode_grid(augment.apply(t, perm, y), shape=shape))
        group_indices.append(len(inputs))
    n = len(inputs)
    return {
        "inputs": np.stack(inputs),  # [E, rows*cols]
        "labels": np.stack(labels),
        "puzzle_identifiers": np.zeros(n, dtype=np.int32),
        "puzzle_indices": np.arange(n + 1, dtype=np.int64),
        "group_indices": np.asarray(group_indices, dtype=np.int64),
    }


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b))


def build_grids(
    out: str | Path, source: str | Path, options: GridOptions | None = None, *, force: bool = False
) -> GridDataset:
    """Read ``source`` (JSONL, CSV or ARC folder), write ``out/train`` and ``out/test`` (and ``out/val`` when
    examples say "val" or ``options.val_count`` draws some); see the module docstring.

    ``out`` is replaced only with ``force`` and only once complete (:mod:`trm.data.output`).
    """
    options = options or GridOptions()
    check_output(out, force)
    data = read_source(source, max_size=options.max_size)
    grids = [g for ex in data.examples for g in (ex.input, ex.output)]
    vocab = Vocabulary(tuple(options.vocabulary)) if options.vocabulary else Vocabulary.infer(grids)
    vocab.permutable(options.fixed_symbols)  # unknown fixed symbols fail before any work
    encoded = [
        (
            ex,
            vocab.indices(ex.input, where="input", file=ex.file, line=ex.line),
            vocab.indices(ex.output, where="output", file=ex.file, line=ex.line),
        )
        for ex in data.examples
    ]
    splits = assign_splits(data.examples, options.test_fraction, options.seed, options.val_count)
    names = ("train", "test", "val") if "val" in splits else ("train", "test")
    by_split = {s: [e for e, sp in zip(encoded, splits, strict=True) if sp == s] for s in names}
    if not by_split["train"] or not by_split["test"]:
        raise InputError(
            f"need at least one training and one test example, got {len(by_split['train'])} and "
            f'{len(by_split["test"])} (mark examples with "split" or raise --test-fraction)',
            file=str(source),
        )
    shape = canvas_shape([g for _, x, y in encoded for g in (x, y)], square="dihedral" in options.augment)

    def key(x: np.ndarray) -> bytes:
        return x.tobytes() + bytes(str(x.shape), "ascii")

    train_inputs = {key(x) for _, x, _ in by_split["train"]}
    info: dict[str, Any] = {
        "source": str(source),
        "format": data.format,
        "vocabulary": vocab.to_json(),
        "canvas": list(shape),
        "augment": list(options.augment),
        "fixed_symbols": list(options.fixed_symbols),
        "num_aug": options.num_aug,
        "test_fraction": options.test_fraction,
        "max_size": options.max_size,
        "seed": options.seed,
        "skipped_without_output": data.skipped,
        "test_inputs_also_in_train": sum(key(x) in train_inputs for _, x, _ in by_split["test"]),
    }
    if "val" in by_split:
        info["val_count"] = options.val_count
        info["val_inputs_also_in_train"] = sum(key(x) in train_inputs for _, x, _ in by_split["val"])
    result = GridDataset(metadata={}, vocabulary=vocab, examples=by_split)
    with building(out, force) as tmp:
        for split, pairs in by_split.items():
            meta = DatasetMetadata(
                task=TASK,
                vocab_size=vocab.vocab_size,
                seq_len=shape[0] * shape[1],
                grid_shape=shape,
                num_puzzle_identifiers=1,
                pad_id=0,
                ignore_label_id=0,
                build={
                    **info,
                    "split": split,
                    "num_original_examples": len(pairs),
                    "copy_input_exact": sum(_same(x, y) for _, x, y in pairs) / len(pairs),
                },
            )
            write_split(tmp, split, metadata=meta, **_arrays(pairs, shape, options, vocab, split == "train"))
            result.metadata[split] = meta
    return result
