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
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

ARRAYS = ("inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices")
METADATA_FILE = "metadata.json"
REFERENCE_METADATA_FILE = "dataset.json"
FORMAT_VERSION = 1


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

    def to_json(self) -> str:
        d = asdict(self)
        d["grid_shape"] = list(self.grid_shape)
        return json.dumps(d, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "metadata") -> DatasetMetadata:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"{where}: unknown metadata keys {unknown}")
        missing = sorted(
            k for k in ("task", "vocab_size", "seq_len", "grid_shape", "num_puzzle_identifiers") if k not in d
        )
        if missing:
            raise ValueError(f"{where}: missing metadata keys {missing}")
        d = dict(d)
        d["grid_shape"] = tuple(int(x) for x in d["grid_shape"])
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync, give it normal permissions (mkstemp makes
    it 0600) and rename it over ``path``; on failure remove it. Readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_save_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_file(path, "wb") as f:
        np.save(f, array)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader never sees a half-written file."""
    with atomic_file(path, "w") as f:
        f.write(text)


def validate_arrays(
    inputs: np.ndarray,
    labels: np.ndarray,
    puzzle_identifiers: np.ndarray,
    puzzle_indices: np.ndarray,
    group_indices: np.ndarray,
    metadata: DatasetMetadata,
    where: str = "split",
) -> None:
    """Check shapes, ranges and index monotonicity; raise ValueError naming what is wrong."""
    if inputs.ndim != 2 or labels.shape != inputs.shape:
        raise ValueError(f"{where}: inputs {inputs.shape} and labels {labels.shape} must be equal [E, L]")
    if inputs.shape[1] != metadata.seq_len:
        raise ValueError(
            f"{where}: rows have {inputs.shape[1]} cells, metadata says seq_len={metadata.seq_len}"
        )
    rows, cols = metadata.grid_shape
    if rows * cols != metadata.seq_len:
        raise ValueError(
            f"{where}: grid_shape {metadata.grid_shape} does not flatten to seq_len {metadata.seq_len}"
        )
    for name, arr in (("inputs", inputs), ("labels", labels)):
        if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= metadata.vocab_size):
            raise ValueError(f"{where}: {name} has tokens outside 0..{metadata.vocab_size - 1}")
    p, e = len(puzzle_identifiers), len(inputs)
    if len(puzzle_indices) != p + 1 or puzzle_indices[0] != 0 or puzzle_indices[-1] != e:
        raise ValueError(f"{where}: puzzle_indices must have {p + 1} entries from 0 to {e}")
    if np.any(np.diff(puzzle_indices) <= 0):
        raise ValueError(f"{where}: every puzzle needs at least one example (puzzle_indices must increase)")
    if len(group_indices) < 2 or group_indices[0] != 0 or group_indices[-1] != p:
        raise ValueError(f"{where}: group_indices must run from 0 to {p}")
    if np.any(np.diff(group_indices) <= 0):
        raise ValueError(f"{where}: every group needs at least one puzzle (group_indices must increase)")
    if p and (
        int(puzzle_identifiers.min()) < 0 or int(puzzle_identifiers.max()) >= metadata.num_puzzle_identifiers
    ):
        raise ValueError(f"{where}: puzzle_identifiers outside 0..{metadata.num_puzzle_identifiers - 1}")


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
    """Validate and write one split atomically (each file via a temporary + rename; metadata last)."""
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
    atomic_write_text(out / METADATA_FILE, metadata.to_json())
    return out


def _load(path: Path, mmap: bool) -> np.ndarray:
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing array file")
    return np.load(path, mmap_mode="r" if mmap else None)


def _open_reference(path: Path, mmap: bool) -> Split:
    """A split written by the reference builders: dataset.json + all__*.npy."""
    raw = json.loads((path / REFERENCE_METADATA_FILE).read_text())
    sets = raw.get("sets", ["all"])
    if sets != ["all"]:
        raise ValueError(f"{path}: reference splits with sets {sets} are not supported, only ['all']")
    arrays = {name: _load(path / f"all__{name}.npy", mmap) for name in ARRAYS}
    seq_len = int(raw["seq_len"])
    side = int(round(seq_len**0.5))
    task = path.parent.name
    meta = DatasetMetadata(
        task=task,
        vocab_size=int(raw["vocab_size"]),
        seq_len=seq_len,
        grid_shape=(side, side) if side * side == seq_len else (1, seq_len),
        num_puzzle_identifiers=int(raw["num_puzzle_identifiers"]),
        pad_id=int(raw.get("pad_id", 0)),
        ignore_label_id=raw.get("ignore_label_id"),
        num_examples=len(arrays["inputs"]),
        num_puzzles=len(arrays["puzzle_identifiers"]),
        num_groups=len(arrays["group_indices"]) - 1,
        build={"source": "reference-builder", "reference_metadata": raw},
    )
    return Split(path=path, metadata=meta, **arrays)


def open_split(root: str | Path, split: str, *, mmap: bool = True, check: bool = True) -> Split:
    """Open ``root/split`` in our format or the reference builders' layout."""
    path = Path(root) / split
    if (path / METADATA_FILE).exists():
        where = str(path / METADATA_FILE)
        try:
            raw = json.loads((path / METADATA_FILE).read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}:{e.lineno}:{e.colno}: {e.msg}") from None
        meta = DatasetMetadata.from_dict(raw, where=where)
        arrays = {name: _load(path / f"{name}.npy", mmap) for name in ARRAYS}
        split_obj = Split(path=path, metadata=meta, **arrays)
    elif (path / REFERENCE_METADATA_FILE).exists():
        split_obj = _open_reference(path, mmap)
    else:
        raise FileNotFoundError(
            f"{path}: not a dataset split (expected {METADATA_FILE}, "
            f"or the reference layout's {REFERENCE_METADATA_FILE})"
        )
    if check:
        # Index arrays are small; token arrays are checked only for shape (a full scan would read them all).
        m = split_obj.metadata
        if (
            split_obj.inputs.ndim != 2
            or split_obj.inputs.shape[1] != m.seq_len
            or split_obj.labels.shape != split_obj.inputs.shape
        ):
            raise ValueError(
                f"{path}: token arrays {split_obj.inputs.shape}/{split_obj.labels.shape} "
                f"do not match seq_len {m.seq_len}"
            )
        pi, gi = split_obj.puzzle_indices, split_obj.group_indices
        if pi[-1] != split_obj.num_examples or gi[-1] != split_obj.num_puzzles:
            raise ValueError(f"{path}: puzzle_indices/group_indices do not cover the examples/puzzles")
    return split_obj
