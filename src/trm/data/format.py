"""The on-disk dataset format shared by every task (Sudoku, Maze, ARC, your own grids).

A dataset is a folder with one sub-folder per split (``train``, ``test``). A split holds:

    metadata.json             DatasetMetadata (below), human-readable
    inputs.npy                [E, L] tokens of the question, one row per example
    labels.npy                [E, L] tokens of the answer; ``ignore_label_id`` marks unscored cells
    puzzle_identifiers.npy    [P]    int32, the identifier (embedding row) of each puzzle
    puzzle_indices.npy        [P+1]  int64, puzzle p's examples: rows puzzle_indices[p]:puzzle_indices[p+1]
    group_indices.npy         [G+1]  int64, puzzles of group g are group_indices[g]:group_indices[g+1]

An *example* is one (question, answer) grid pair. A *puzzle* is the set of examples that share an
identifier (one Sudoku; one augmented variant of an ARC task with its demonstration pairs). A *group*
is the set of augmented variants of one original puzzle: a training epoch takes one random puzzle of
each group (the papers' epoch semantics). Token arrays are uint8 when the vocabulary fits, so they are
small, and every array is opened memory-mapped: a 4M-example ARC set need not fit in RAM.

Splits written by the reference code's builders (``dataset.json`` and ``all__inputs.npy`` ...) are
read as they are; see :func:`open_split`.

Integrity: ``metadata.json`` records the size and SHA-256 of every array file (``files``). Opening a
split compares the sizes (one ``stat`` per file, so always on) and the index arrays with the metadata;
``trm data verify`` (:mod:`trm.data.integrity`) also checks the checksums and every token. A damaged or
inconsistent split raises :class:`~trm.errors.InputError` naming the file and what is wrong; a
third-party parse error (numpy, json) never escapes without the file's name.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trm import files
from trm.errors import InputError, MissingFileError

# Generic file helpers live in trm.files; these names stay importable from here for older imports.
from trm.files import atomic_file, atomic_write_text, read_json, read_text, sha256_file  # noqa: F401

ARRAYS = ("inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices")
METADATA_FILE = "metadata.json"
REFERENCE_METADATA_FILE = "dataset.json"
FORMAT_VERSION = 1
_INT_FIELDS = ("vocab_size", "seq_len", "num_puzzle_identifiers", "pad_id", "num_examples", "num_puzzles")


@dataclass
class DatasetMetadata:
    """What a model and a loader need to know about a split, and how it was built."""

    task: str  # "sudoku", "maze", "arc", or a user's own name
    vocab_size: int  # tokens are 0..vocab_size-1
    seq_len: int  # L, cells per example (grid flattened row-major)
    grid_shape: tuple[int, int]  # (rows, cols) of the grid that is flattened into seq_len
    num_puzzle_identifiers: int  # rows of the puzzle-identifier embedding (0 is the blank id)
    pad_id: int = 0
    ignore_label_id: int | None = 0  # label value that is not scored (None: every cell is scored)
    num_examples: int = 0
    num_puzzles: int = 0
    num_groups: int = 0
    build: dict[str, Any] = field(default_factory=dict)  # source, seed, counts, options
    format_version: int = FORMAT_VERSION
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # "inputs.npy" -> {"bytes", "sha256"}

    def to_json(self) -> str:
        d = asdict(self)
        d["grid_shape"] = list(self.grid_shape)
        return json.dumps(d, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "metadata") -> DatasetMetadata:
        if not isinstance(d, dict):
            raise InputError(f"metadata must be a JSON object, got {type(d).__name__}", file=where)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown metadata keys {unknown}", file=where)
        missing = sorted(
            k for k in ("task", "vocab_size", "seq_len", "grid_shape", "num_puzzle_identifiers") if k not in d
        )
        if missing:
            raise InputError(f"missing metadata keys {missing}", file=where)
        d = dict(d)
        for key in _INT_FIELDS + ("num_groups", "format_version"):
            if key in d and (not isinstance(d[key], int) or isinstance(d[key], bool) or d[key] < 0):
                raise InputError(f"{key} must be a non-negative integer, got {d[key]!r}", file=where)
        shape = d["grid_shape"]
        if not (isinstance(shape, list | tuple) and len(shape) == 2 and all(type(x) is int for x in shape)):
            raise InputError(f"grid_shape must be [rows, cols] of integers, got {shape!r}", file=where)
        if not isinstance(d["task"], str) or not isinstance(d.get("files", {}), dict):
            raise InputError("task must be a string and files a mapping", file=where)
        if d.get("ignore_label_id") is not None and type(d["ignore_label_id"]) is not int:
            raise InputError(
                f"ignore_label_id must be an integer or null, got {d['ignore_label_id']!r}", file=where
            )
        d["grid_shape"] = tuple(shape)
        return cls(**d)


@dataclass
class Split:
    """One split of a dataset, arrays memory-mapped (read-only)."""

    path: Path
    metadata: DatasetMetadata
    inputs: np.ndarray
    labels: np.ndarray
    puzzle_identifiers: np.ndarray
    puzzle_indices: np.ndarray
    group_indices: np.ndarray

    @property
    def num_examples(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def num_puzzles(self) -> int:
        return int(self.puzzle_identifiers.shape[0])

    @property
    def num_groups(self) -> int:
        return int(self.group_indices.shape[0] - 1)

    def examples_of_puzzle(self, p: int) -> range:
        return range(int(self.puzzle_indices[p]), int(self.puzzle_indices[p + 1]))

    def puzzles_of_group(self, g: int) -> range:
        return range(int(self.group_indices[g]), int(self.group_indices[g + 1]))


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint8) if vocab_size <= 256 else np.dtype(np.int32)


def atomic_save_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_file(path, "wb") as f:
        np.save(f, array)


def validate_arrays(
    inputs: np.ndarray,
    labels: np.ndarray,
    puzzle_identifiers: np.ndarray,
    puzzle_indices: np.ndarray,
    group_indices: np.ndarray,
    metadata: DatasetMetadata,
    where: str = "split",
) -> None:
    """Check shapes, ranges and index monotonicity (reads every token); raise InputError naming it."""

    def bad(message: str) -> InputError:
        return InputError(message, file=where)

    if inputs.ndim != 2 or labels.shape != inputs.shape:
        raise bad(f"inputs {inputs.shape} and labels {labels.shape} must be equal [E, L]")
    if inputs.shape[1] != metadata.seq_len:
        raise bad(f"rows have {inputs.shape[1]} cells, metadata says seq_len={metadata.seq_len}")
    rows, cols = metadata.grid_shape
    if rows * cols != metadata.seq_len:
        raise bad(f"grid_shape {metadata.grid_shape} does not flatten to seq_len {metadata.seq_len}")
    for name, arr in (("inputs", inputs), ("labels", labels)):
        if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= metadata.vocab_size):
            raise bad(f"{name} has tokens outside 0..{metadata.vocab_size - 1}")
    index = {
        "puzzle_identifiers": puzzle_identifiers,
        "puzzle_indices": puzzle_indices,
        "group_indices": group_indices,
    }
    for name, arr in index.items():
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise bad(f"{name} must be a 1-D integer array, got {arr.dtype} of shape {arr.shape}")
    p, e = len(puzzle_identifiers), len(inputs)
    if len(puzzle_indices) != p + 1 or puzzle_indices[0] != 0 or puzzle_indices[-1] != e:
        raise bad(f"puzzle_indices must have {p + 1} entries from 0 to {e}")
    if np.any(np.diff(puzzle_indices) <= 0):
        raise bad("every puzzle needs at least one example (puzzle_indices must increase)")
    if len(group_indices) < 2 or group_indices[0] != 0 or group_indices[-1] != p:
        raise bad(f"group_indices must run from 0 to {p}")
    if np.any(np.diff(group_indices) <= 0):
        raise bad("every group needs at least one puzzle (group_indices must increase)")
    if p and (
        int(puzzle_identifiers.min()) < 0 or int(puzzle_identifiers.max()) >= metadata.num_puzzle_identifiers
    ):
        raise bad(f"puzzle_identifiers outside 0..{metadata.num_puzzle_identifiers - 1}")


def file_records(split_dir: str | Path, names: tuple[str, ...] = ARRAYS) -> dict[str, dict[str, Any]]:
    """``{"inputs.npy": {"bytes": n, "sha256": hex}, ...}`` for the array files of a written split."""
    return files.file_records(split_dir, [f"{name}.npy" for name in names])


def write_split(
    root: str | Path,
    split: str,
    *,
    inputs: np.ndarray,
    labels: np.ndarray,
    puzzle_identifiers: np.ndarray,
    puzzle_indices: np.ndarray,
    group_indices: np.ndarray,
    metadata: DatasetMetadata,
) -> Path:
    """Validate and write one split atomically (each file via a temporary + rename; metadata last, with
    every array file's size and SHA-256)."""
    out = Path(root) / split
    out.mkdir(parents=True, exist_ok=True)
    dt = token_dtype(metadata.vocab_size)
    arrays = {
        "inputs": np.ascontiguousarray(inputs, dtype=dt),
        "labels": np.ascontiguousarray(labels, dtype=dt),
        "puzzle_identifiers": np.ascontiguousarray(puzzle_identifiers, dtype=np.int32),
        "puzzle_indices": np.ascontiguousarray(puzzle_indices, dtype=np.int64),
        "group_indices": np.ascontiguousarray(group_indices, dtype=np.int64),
    }
    validate_arrays(**arrays, metadata=metadata, where=str(out))
    metadata.num_examples = len(arrays["inputs"])
    metadata.num_puzzles = len(arrays["puzzle_identifiers"])
    metadata.num_groups = len(arrays["group_indices"]) - 1
    (out / METADATA_FILE).unlink(missing_ok=True)  # a split without metadata is visibly incomplete
    for name, arr in arrays.items():
        atomic_save_npy(out / f"{name}.npy", arr)
    metadata.files = file_records(out)
    atomic_write_text(out / METADATA_FILE, metadata.to_json())
    return out


def _load(path: Path, mmap: bool, record: dict[str, Any] | None = None) -> np.ndarray:
    """One ``.npy`` array; a missing, truncated or unreadable file is an error naming it."""
    if not path.exists():
        raise MissingFileError("missing array file", file=str(path))
    recorded = None if record is None else files.recorded_bytes(record)
    if recorded is not None:
        size = path.stat().st_size
        if size != recorded:
            raise InputError(
                f"{size:,} bytes, but {METADATA_FILE} records {recorded:,}: the file is truncated "
                "or was replaced (rebuild the dataset; `trm data verify` checks every file)",
                file=str(path),
            )
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, EOFError, OSError) as e:  # bad header, truncated body, pickled data
        raise InputError(f"not a readable .npy array: {e}", file=str(path)) from None


def _open_reference(path: Path, mmap: bool) -> Split:
    """A split written by the reference builders: dataset.json + all__*.npy."""
    where = str(path / REFERENCE_METADATA_FILE)
    raw = read_json(path / REFERENCE_METADATA_FILE)
    if not isinstance(raw, dict):
        raise InputError("expected a JSON object", file=where)
    sets = raw.get("sets", ["all"])
    if sets != ["all"]:
        raise InputError(f"reference splits with sets {sets} are not supported, only ['all']", file=where)
    arrays = {name: _load(path / f"all__{name}.npy", mmap) for name in ARRAYS}
    try:
        seq_len, vocab, ids = (int(raw[k]) for k in ("seq_len", "vocab_size", "num_puzzle_identifiers"))
        pad_id = int(raw.get("pad_id", 0))
    except KeyError as e:
        raise InputError(f"missing key {e.args[0]!r}", file=where) from None
    except (TypeError, ValueError) as e:
        raise InputError(f"a count is not an integer ({e})", file=where) from None
    side = int(round(seq_len**0.5))
    meta = DatasetMetadata(
        task=path.parent.name,
        vocab_size=vocab,
        seq_len=seq_len,
        grid_shape=(side, side) if side * side == seq_len else (1, seq_len),
        num_puzzle_identifiers=ids,
        pad_id=pad_id,
        ignore_label_id=raw.get("ignore_label_id"),
        num_examples=len(arrays["inputs"]),
        num_puzzles=len(arrays["puzzle_identifiers"]),
        num_groups=len(arrays["group_indices"]) - 1,
        build={"source": "reference-builder", "reference_metadata": raw},
    )
    return Split(path=path, metadata=meta, **arrays)


def check_structure(split: Split) -> None:
    """The cheap checks run on every open: shapes, dtypes, index ends and the recorded counts agree with
    the metadata (index arrays are small; token arrays are checked for shape only, a scan would read them)."""
    m, where = split.metadata, str(split.path / METADATA_FILE)
    x, y = split.inputs, split.labels
    if x.ndim != 2 or x.shape[1] != m.seq_len or y.shape != x.shape:
        raise InputError(
            f"token arrays inputs {x.shape} / labels {y.shape} do not match seq_len={m.seq_len} "
            "([examples, seq_len] each)",
            file=where,
        )
    if m.grid_shape[0] * m.grid_shape[1] != m.seq_len:
        raise InputError(f"grid_shape {m.grid_shape} does not flatten to seq_len {m.seq_len}", file=where)
    for name in ARRAYS:
        arr = getattr(split, name)
        if arr.dtype.kind not in "iu" or (name not in ("inputs", "labels") and arr.ndim != 1):
            raise InputError(
                f"{name}.npy holds {arr.dtype} of shape {arr.shape}, expected integers", file=where
            )
    pi, gi = split.puzzle_indices, split.group_indices
    if len(pi) < 1 or len(gi) < 1 or len(pi) != split.num_puzzles + 1:
        raise InputError(
            f"puzzle_indices has {len(pi)} entries for {split.num_puzzles} puzzles (expected one more)",
            file=where,
        )
    if pi[-1] != split.num_examples or gi[-1] != split.num_puzzles:
        raise InputError(
            f"puzzle_indices ends at {int(pi[-1])} for {split.num_examples} examples, group_indices at "
            f"{int(gi[-1])} for {split.num_puzzles} puzzles: the index arrays do not cover the data",
            file=where,
        )
    actual = {
        "num_examples": split.num_examples,
        "num_puzzles": split.num_puzzles,
        "num_groups": split.num_groups,
    }
    for key, n in actual.items():
        recorded = getattr(m, key)
        if recorded and recorded != n:  # 0: not recorded (hand-written metadata)
            raise InputError(f"{key}={recorded}, but the arrays hold {n}", file=where)


def open_split(root: str | Path, split: str, *, mmap: bool = True, check: bool = True) -> Split:
    """Open ``root/split`` in our format or the reference builders' layout.

    Always compares the array files' sizes with the ones ``metadata.json`` records; ``check`` adds
    :func:`check_structure`. Raises InputError (MissingFileError for an absent split or array).
    """
    path = Path(root) / split
    if (path / METADATA_FILE).exists():
        where = str(path / METADATA_FILE)
        meta = DatasetMetadata.from_dict(read_json(path / METADATA_FILE), where=where)
        arrays = {name: _load(path / f"{name}.npy", mmap, meta.files.get(f"{name}.npy")) for name in ARRAYS}
        split_obj = Split(path=path, metadata=meta, **arrays)
    elif (path / REFERENCE_METADATA_FILE).exists():
        split_obj = _open_reference(path, mmap)
    else:
        raise MissingFileError(
            f"not a dataset split (expected {METADATA_FILE}, "
            f"or the reference layout's {REFERENCE_METADATA_FILE})",
            file=str(path),
        )
    if check:
        check_structure(split_obj)
    return split_obj
