"""Datasets record their files' sizes and SHA-256; opening checks sizes, ``trm data verify`` checks all.

Properties: a written split records the true size and checksum of each array file; a truncated or
replaced array is refused on open with its name; metadata that disagrees with the arrays is refused naming
``metadata.json``; verify reports every damaged file of every split at once, and a sound dataset passes.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from trm.data.errors import InputError
from trm.data.format import ARRAYS, DatasetMetadata, open_split, write_split
from trm.data.integrity import verify_dataset, verify_split
from trm.errors import MissingFileError


def _write(root, split="train", n=12, seed=0):
    rng = np.random.default_rng(seed)
    meta = DatasetMetadata(task="toy", vocab_size=7, seq_len=4, grid_shape=(2, 2), num_puzzle_identifiers=3)
    return write_split(
        root,
        split,
        inputs=rng.integers(1, 7, size=(n, 4)),
        labels=rng.integers(1, 7, size=(n, 4)),
        puzzle_identifiers=rng.integers(0, 3, size=n),
        puzzle_indices=np.arange(n + 1),
        group_indices=np.arange(n + 1),
        metadata=meta,
    )


def _meta(path):
    return json.loads((path / "metadata.json").read_text())


def test_written_split_records_true_sizes_and_checksums(tmp_path):
    path = _write(tmp_path)
    files = _meta(path)["files"]
    assert sorted(files) == sorted(f"{n}.npy" for n in ARRAYS)
    for name, rec in files.items():
        data = (path / name).read_bytes()
        assert rec == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert verify_split(path).ok


def test_truncated_array_is_refused_on_open_naming_the_file(tmp_path):
    path = _write(tmp_path)
    data = (path / "inputs.npy").read_bytes()
    (path / "inputs.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"train/inputs\.npy: \d+ bytes, but metadata.json records"):
        open_split(tmp_path, "train")


def test_truncated_array_without_records_is_still_an_input_error(tmp_path):
    path = _write(tmp_path)
    meta = _meta(path)
    del meta["files"]  # a dataset written before sizes were recorded
    (path / "metadata.json").write_text(json.dumps(meta))
    data = (path / "labels.npy").read_bytes()
    for cut in (5, len(data) - 3):  # inside the header; inside the body
        (path / "labels.npy").write_bytes(data[:cut])
        with pytest.raises(InputError, match=r"labels\.npy: not a readable \.npy array"):
            open_split(tmp_path, "train")


def test_pickled_array_is_refused_not_unpickled(tmp_path):
    path = _write(tmp_path)
    np.save(path / "inputs.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    meta = _meta(path)
    del meta["files"]
    (path / "metadata.json").write_text(json.dumps(meta))
    for mmap in (True, False):
        with pytest.raises(
            InputError, match=r"inputs\.npy: not a readable \.npy array: .*(pickle|Python obj)"
        ):
            open_split(tmp_path, "train", mmap=mmap)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"seq_len": 9, "grid_shape": [3, 3]}, r"do not match seq_len=9"),
        ({"num_examples": 13}, r"num_examples=13, but the arrays hold 12"),
        ({"grid_shape": [3, 2]}, r"does not flatten"),
        ({"vocab_size": "seven"}, r"vocab_size must be a non-negative integer"),
        ({"grid_shape": "2x2"}, r"grid_shape must be \[rows, cols\]"),
    ],
)
def test_metadata_disagreeing_with_arrays_names_metadata_json(tmp_path, change, message):
    path = _write(tmp_path)
    (path / "metadata.json").write_text(json.dumps({**_meta(path), **change}))
    with pytest.raises(InputError, match=r"metadata\.json: .*" + message):
        open_split(tmp_path, "train")


def test_index_arrays_that_do_not_cover_the_data_are_refused(tmp_path):
    path = _write(tmp_path)
    np.save(path / "puzzle_indices.npy", np.arange(12, dtype=np.int64))  # one entry short
    meta = _meta(path)
    del meta["files"]
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"puzzle_indices has 12 entries for 12 puzzles"):
        open_split(tmp_path, "train")


def test_verify_reports_every_damaged_file_of_every_split(tmp_path):
    _write(tmp_path, "train")
    test = _write(tmp_path, "test", n=5, seed=1)
    train = tmp_path / "train"
    flipped = bytearray((train / "labels.npy").read_bytes())
    flipped[-1] ^= 0xFF  # same size, other content: only the checksum sees it
    (train / "labels.npy").write_bytes(bytes(flipped))
    (test / "group_indices.npy").unlink()
    reports = {r.path.name: r for r in verify_dataset(tmp_path)}
    status = {(s, f.name): f.status for s, r in reports.items() for f in r.files}
    assert status[("train", "labels.npy")] == "checksum differs"
    assert status[("test", "group_indices.npy")] == "missing"
    assert sum(v == "ok" for v in status.values()) == 8
    assert not reports["train"].ok and not reports["test"].ok


def test_verify_finds_a_token_outside_the_vocabulary_when_nothing_was_recorded(tmp_path):
    path = _write(tmp_path)
    x = np.load(path / "inputs.npy")
    x[3, 1] = 9  # vocab is 7
    np.save(path / "inputs.npy", x)
    meta = _meta(path)
    del meta["files"]
    (path / "metadata.json").write_text(json.dumps(meta))
    open_split(tmp_path, "train")  # the cheap checks do not scan tokens
    report = verify_split(path)
    assert [f.status for f in report.files] == ["not recorded"] * 5
    assert report.problems == [f"{path}: inputs has tokens outside 0..6"]


def test_missing_split_is_a_missing_file_error(tmp_path):
    with pytest.raises(MissingFileError, match="not a dataset split"):
        open_split(tmp_path, "train")
    with pytest.raises(InputError, match="no dataset splits here"):
        verify_dataset(tmp_path)


def test_damaged_arc_variant_table_names_the_file(tmp_path):
    from trm.data.arc.identifiers import TASKS_FILE, VARIANTS_FILE, TaskInfo, VariantTable

    info = TaskInfo("t1", "src", "eval", 1, 0, 0)
    VariantTable.from_parts(
        [info], [np.zeros(3, np.uint8)], [np.tile(np.arange(10, dtype=np.uint8), (3, 1))]
    ).save(tmp_path)
    assert VariantTable.load(tmp_path).num_identifiers == 4
    npz = (tmp_path / VARIANTS_FILE).read_bytes()
    (tmp_path / VARIANTS_FILE).write_bytes(npz[: len(npz) // 2])
    with pytest.raises(InputError, match=r"arc_variants\.npz: not a readable variant table"):
        VariantTable.load(tmp_path)
    (tmp_path / VARIANTS_FILE).write_bytes(npz)
    (tmp_path / TASKS_FILE).write_text('[{"name": "t1"}]')
    with pytest.raises(InputError, match=r"arc_tasks\.json: not a list of task records"):
        VariantTable.load(tmp_path)
    (tmp_path / TASKS_FILE).write_text("[")
    with pytest.raises(InputError, match=r"arc_tasks\.json:1:2: invalid JSON"):
        VariantTable.load(tmp_path)


def test_verify_checks_the_reference_layout_without_checksums(tmp_path, rng):
    from test_format import write_reference_split

    root, _ = write_reference_split(tmp_path, rng)
    report = verify_split(root / "test")
    assert report.ok and [f.status for f in report.files] == ["not recorded"] * 5 and report.num_examples == 5
    (root / "test" / "all__labels.npy").write_bytes(b"\x93NUMPY")
    assert "all__labels.npy: not a readable .npy array" in verify_split(root / "test").problems[0]
