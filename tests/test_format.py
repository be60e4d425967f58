"""The on-disk dataset format: round trips, validation errors, and the reference builders' layout."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trm.data.format import DatasetMetadata, open_split, write_split


def toy_arrays(rng, groups=(2, 1, 3), examples_per_puzzle=(1, 2, 1, 1, 3, 1), seq_len=4, vocab=7):
    """A split with uneven groups and puzzles: returns the kwargs of write_split (without metadata)."""
    num_puzzles = sum(groups)
    assert len(examples_per_puzzle) == num_puzzles
    e = sum(examples_per_puzzle)
    return {
        "inputs": rng.integers(1, vocab, size=(e, seq_len)),
        "labels": rng.integers(1, vocab, size=(e, seq_len)),
        "puzzle_identifiers": np.arange(num_puzzles) % 3,
        "puzzle_indices": np.concatenate([[0], np.cumsum(examples_per_puzzle)]),
        "group_indices": np.concatenate([[0], np.cumsum(groups)]),
    }


def toy_metadata(**kw):
    base = dict(task="toy", vocab_size=7, seq_len=4, grid_shape=(2, 2), num_puzzle_identifiers=3)
    return DatasetMetadata(**{**base, **kw})


def test_round_trip_keeps_arrays_and_metadata(tmp_path, rng):
    arrays = toy_arrays(rng)
    meta = toy_metadata(build={"source": "test", "seed": 3})
    write_split(tmp_path, "train", **arrays, metadata=meta)
    split = open_split(tmp_path, "train")
    for name, arr in arrays.items():
        assert np.array_equal(getattr(split, name), arr), name
    assert split.inputs.dtype == np.uint8  # vocabulary fits a byte
    assert isinstance(split.inputs, np.memmap)
    m = split.metadata
    assert (m.num_examples, m.num_puzzles, m.num_groups) == (9, 6, 3)
    assert m.grid_shape == (2, 2) and m.build == {"source": "test", "seed": 3}
    assert list(split.examples_of_puzzle(4)) == [5, 6, 7]
    assert list(split.puzzles_of_group(2)) == [3, 4, 5]


def test_large_vocab_is_stored_as_int32(tmp_path, rng):
    arrays = toy_arrays(rng, vocab=7)
    arrays["inputs"][0, 0] = 300
    write_split(tmp_path, "train", **arrays, metadata=toy_metadata(vocab_size=301))
    split = open_split(tmp_path, "train")
    assert split.inputs.dtype == np.int32 and split.inputs[0, 0] == 300


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda a: a.update(labels=a["labels"][:, :3]), "must be equal"),
        (lambda a: a["inputs"].__setitem__((0, 0), 7), "outside 0..6"),
        (lambda a: a.update(puzzle_indices=a["puzzle_indices"][:-1]), "puzzle_indices must have"),
        (lambda a: a["puzzle_indices"].__setitem__(2, 1), "at least one example"),
        (lambda a: a.update(group_indices=np.array([0, 5])), "from 0 to 6"),
        (lambda a: a.update(group_indices=np.array([0, 2, 2, 6])), "at least one puzzle"),
        (lambda a: a["puzzle_identifiers"].__setitem__(0, 3), "puzzle_identifiers outside"),
    ],
)
def test_write_rejects_inconsistent_arrays(tmp_path, rng, break_it, message):
    arrays = toy_arrays(rng)
    break_it(arrays)
    with pytest.raises(ValueError, match=message):
        write_split(tmp_path, "train", **arrays, metadata=toy_metadata())
    assert not (tmp_path / "train" / "metadata.json").exists()


def test_metadata_rejects_wrong_seq_len_and_unknown_keys(tmp_path, rng):
    with pytest.raises(ValueError, match="seq_len=5"):
        write_split(tmp_path, "train", **toy_arrays(rng), metadata=toy_metadata(seq_len=5, grid_shape=(1, 5)))
    with pytest.raises(ValueError, match="does not flatten"):
        write_split(tmp_path, "train", **toy_arrays(rng), metadata=toy_metadata(grid_shape=(3, 2)))
    write_split(tmp_path, "train", **toy_arrays(rng), metadata=toy_metadata())
    path = tmp_path / "train" / "metadata.json"
    raw = json.loads(path.read_text())
    path.write_text(json.dumps({**raw, "colour": 1}))
    with pytest.raises(ValueError, match=r"unknown metadata keys \['colour'\]"):
        open_split(tmp_path, "train")
    path.write_text('{"task": "toy",\n  oops}')
    with pytest.raises(ValueError, match=r"metadata.json:2:3:"):
        open_split(tmp_path, "train")


def test_missing_split_and_missing_array_are_named(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="not a dataset split"):
        open_split(tmp_path, "train")
    write_split(tmp_path, "train", **toy_arrays(rng), metadata=toy_metadata())
    (tmp_path / "train" / "labels.npy").unlink()
    with pytest.raises(FileNotFoundError, match="labels.npy: missing array file"):
        open_split(tmp_path, "train")


def write_reference_split(root, rng, seq_len=81, vocab=11):
    """A tiny split in the reference builders' layout: dataset.json + all__<name>.npy."""
    path = root / "sudoku-ref" / "test"
    path.mkdir(parents=True)
    inputs = rng.integers(1, vocab, size=(5, seq_len)).astype(np.uint8)
    arrays = {
        "inputs": inputs,
        "labels": inputs.copy(),
        "puzzle_identifiers": np.zeros(5, np.int32),
        "puzzle_indices": np.arange(6, dtype=np.int32),
        "group_indices": np.arange(6, dtype=np.int32),
    }
    for name, arr in arrays.items():
        np.save(path / f"all__{name}.npy", arr)
    ref = {
        "pad_id": 0,
        "ignore_label_id": 0,
        "blank_identifier_id": 0,
        "vocab_size": vocab,
        "seq_len": seq_len,
        "num_puzzle_identifiers": 1,
        "total_groups": 5,
        "mean_puzzle_examples": 1.0,
        "sets": ["all"],
    }
    (path / "dataset.json").write_text(json.dumps(ref))
    return path.parent, arrays


def test_reads_the_reference_layout(tmp_path, rng):
    root, arrays = write_reference_split(tmp_path, rng)
    split = open_split(root, "test")
    m = split.metadata
    assert (m.task, m.vocab_size, m.seq_len, m.grid_shape) == ("sudoku-ref", 11, 81, (9, 9))
    assert (m.num_examples, m.num_puzzles, m.num_groups, m.ignore_label_id) == (5, 5, 5, 0)
    assert m.build["source"] == "reference-builder"
    for name, arr in arrays.items():
        assert np.array_equal(getattr(split, name), arr), name


def test_reference_layout_with_several_sets_is_refused(tmp_path, rng):
    root, _ = write_reference_split(tmp_path, rng)
    path = root / "test" / "dataset.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "sets": ["a", "b"]}))
    with pytest.raises(ValueError, match="not supported"):
        open_split(root, "test")
