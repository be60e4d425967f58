"""Build Maze datasets in trm's on-disk format from the hub, from local CSV files, or from the generator.

Design choices:

- CSV layout of the hub's ``sapientinc/maze-30x30-hard-1k``: header ``source,question,answer,rating``,
  one maze per line, ``question``/``answer`` row-major strings over ``# SGo``. ``question`` and
  ``answer`` columns are required; ``source`` and ``rating`` are kept when present. Every row is
  validated (:func:`trm.data.maze.grid.parse_maze`, :func:`~trm.data.maze.grid.check_answer`) and
  errors name file, line and the column of the offending character in that line.
- Dataset layout (:func:`trm.data.format.write_split`): every training maze is a group; with
  ``augment`` its 8 dihedral variants are the puzzles of the group (one example each), so an epoch sees
  one random orientation of each maze. Test mazes are never augmented. All mazes share puzzle
  identifier 0 (``num_puzzle_identifiers=1``); every label cell is scored (labels never hold PAD).
- Labels (``relabel``): by default a variant's label is its original's label transformed, as the
  reference builder does. The tie-break among equally short paths (:mod:`trm.data.maze.search`) is
  not dihedral-equivariant, so a maze with several shortest paths then shows the model up to 8
  different rules for one kind of choice. ``relabel`` labels every maze of every split with the
  tie-break run on the grid as stored, so each label is one fixed function of its question.
  Generated sets relabel by default (their originals are already labelled this way, so only the
  variants change); hub and file sets keep their labels unless asked.
- Subsampling (``subsample``) is drawn from ``seed`` and keeps the file order, so the same arguments
  give a byte-identical dataset (the reference code's subsampling was unseeded).
- Generated sets draw train and test from two independent streams of the same seed, so the test set
  does not change with the number of training mazes.
- Mixed sizes (``mix_sizes``, generated sets only): the training mazes may mix smaller mazes embedded
  in walls on the target board (:mod:`trm.data.maze.mixed_sizes`); test and validation stay pure, and
  the train split's metadata records the mix (``mix_sizes`` and ``mix``: the count of mazes per size).
- Validation (``val``, optional): mazes held out from training like the test set, for deciding when a
  run may stop without reading the test split. Generated sets draw them from a third stream (train and
  test do not change with their number); file and hub sets take them from the training mazes, drawn by
  ``seed`` after any subsampling.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trm.data.errors import InputError
from trm.data.format import DatasetMetadata, write_split
from trm.data.maze.augment import variants
from trm.data.maze.generate import MazeRecord, generate_records, summarize
from trm.data.maze.grid import PATH, VOCAB_SIZE, check_answer, format_maze, parse_maze
from trm.data.maze.mixed_sizes import check_mix_sizes, generate_mixed_records, mix_summary
from trm.data.maze.search import shortest_path_length, solve
from trm.data.output import building, check_output
from trm.files import atomic_write_text

HUB_REPO = "sapientinc/maze-30x30-hard-1k"
CSV_COLUMNS = ("source", "question", "answer", "rating")


def _field_starts(raw: str) -> list[int]:
    """0-based offset in ``raw`` of each CSV field's first character (after an opening quote)."""
    starts, i, n = [], 0, len(raw)
    while True:
        if i < n and raw[i] == '"':  # quoted field: runs to the closing quote ("" is an escaped quote)
            starts.append(i + 1)
            i += 1
            while i < n and not (raw[i] == '"' and raw[i + 1 : i + 2] != '"'):
                i += 2 if raw[i] == '"' else 1
            i += 1
        else:
            starts.append(i)
        while i < n and raw[i] != ",":
            i += 1
        if i >= n:
            return starts
        i += 1


def read_csv(path: str | Path, *, side: int | None = None, check_answers: bool = True) -> list[MazeRecord]:
    """Read and validate a maze CSV in the hub layout; raise InputError naming file:line:column."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate a byte-order mark
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text ({e.reason})", file=name) from None
    lines = text.splitlines()
    if not lines:
        raise InputError("empty file; expected a header 'source,question,answer,rating'", file=name, line=1)
    header = next(csv.reader([lines[0]]))
    missing = [c for c in ("question", "answer") if c not in header]
    if missing:
        raise InputError(
            f"header {header} lacks column(s) {missing}; expected {','.join(CSV_COLUMNS)}", file=name, line=1
        )
    col = {c: header.index(c) for c in CSV_COLUMNS if c in header}
    records: list[MazeRecord] = []
    for lineno, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        fields = next(csv.reader([raw]))
        if len(fields) != len(header):
            raise InputError(f"{len(fields)} fields, the header has {len(header)}", file=name, line=lineno)
        starts = _field_starts(raw)
        q_start, a_start = starts[col["question"]], starts[col["answer"]]
        q = _parse_field("question", fields[col["question"]], q_start, side=side, file=name, line=lineno)
        a = _parse_field("answer", fields[col["answer"]], a_start, side=q.shape[0], file=name, line=lineno)
        if check_answers:
            check_answer(q, a, file=name, line=lineno, column_offset=a_start)
        records.append(
            MazeRecord(
                question=q,
                answer=a,
                source=fields[col["source"]] if "source" in col else "",
                rating=fields[col["rating"]] if "rating" in col else "0",
            )
        )
    if not records:
        raise InputError("no mazes after the header", file=name, line=2)
    return records


def _parse_field(field: str, text: str, start: int, *, side: int | None, file: str, line: int) -> np.ndarray:
    """parse_maze on one CSV field; error columns become columns of the whole line (1-based)."""
    try:
        return parse_maze(text, side=side, answer=field == "answer", file=file, line=line)
    except InputError as e:
        column = None if e.column is None else start + e.column
        raise InputError(f"{field}: {e.message}", file=file, line=line, column=column) from None


def write_csv(path: str | Path, records: Sequence[MazeRecord]) -> Path:
    """Write mazes in the hub's CSV layout (atomically)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow([r.source, format_maze(r.question), format_maze(r.answer), r.rating])
    atomic_write_text(Path(path), buf.getvalue())
    return Path(path)


def download_hub(
    repo_id: str = HUB_REPO, *, revision: str | None = None, cache_dir: str | None = None
) -> dict[str, Path]:
    """``{"train": path, "test": path}`` of the hub dataset's CSV files (downloaded once, then cached).

    ``repo_id`` may also be a local folder holding ``train.csv`` and ``test.csv`` (offline use).
    """
    local = Path(repo_id)
    if local.is_dir():
        files = {split: local / f"{split}.csv" for split in ("train", "test")}
        for p in files.values():
            if not p.exists():
                raise FileNotFoundError(f"{p}: missing (a local maze folder needs train.csv and test.csv)")
        return files
    from huggingface_hub import hf_hub_download

    return {
        split: Path(
            hf_hub_download(
                repo_id, f"{split}.csv", repo_type="dataset", revision=revision, cache_dir=cache_dir
            )
        )
        for split in ("train", "test")
    }


def _subsample(records: list[MazeRecord], size: int | None, rng: np.random.Generator) -> list[MazeRecord]:
    if size is None or size >= len(records):
        return records
    if size <= 0:
        raise InputError(f"subsample size must be positive, got {size}")
    keep = np.sort(rng.choice(len(records), size=size, replace=False))
    return [records[i] for i in keep]


def _hold_out(records: list[MazeRecord], count: int, seed: int) -> tuple[list[MazeRecord], list[MazeRecord]]:
    """(the rest, ``count`` records drawn by ``seed``), both in file order."""
    if count <= 0:
        return records, []
    if count >= len(records):
        raise InputError(f"val_count={count} leaves no training maze (there are {len(records)})")
    chosen = set(np.random.default_rng([seed, 3]).choice(len(records), size=count, replace=False).tolist())
    return [r for i, r in enumerate(records) if i not in chosen], [records[i] for i in sorted(chosen)]


def _arrays(records: Sequence[MazeRecord], augment: bool, relabel: bool) -> dict[str, np.ndarray]:
    inputs, labels, group_indices = [], [], [0]
    for r in records:
        pairs = variants(r.question, r.answer) if augment else [(r.question, r.answer)]
        for q, a in pairs:
            inputs.append(q.reshape(-1))
            labels.append((solve(q) if relabel else a).reshape(-1))
        group_indices.append(len(inputs))
    n = len(inputs)
    return {
        "inputs": np.stack(inputs),  # [E, side*side]
        "labels": np.stack(labels),  # [E, side*side]
        "puzzle_identifiers": np.zeros(n, dtype=np.int32),  # one shared identifier
        "puzzle_indices": np.arange(n + 1, dtype=np.int64),  # one example per puzzle
        "group_indices": np.asarray(group_indices, dtype=np.int64),
    }


def build_dataset(
    out: str | Path,
    train: Sequence[MazeRecord],
    test: Sequence[MazeRecord],
    *,
    augment: bool = False,
    relabel: bool = False,
    subsample: int | None = None,
    test_limit: int | None = None,
    seed: int = 0,
    build_info: dict[str, Any] | None = None,
    statistics: bool = True,
    force: bool = False,
    val: Sequence[MazeRecord] | None = None,
    val_count: int = 0,
    split_info: dict[str, dict[str, Any]] | None = None,
) -> dict[str, DatasetMetadata]:
    """Write ``out/train`` and ``out/test`` (and ``out/val``: the ``val`` mazes, or ``val_count`` held out
    from the training mazes); return their metadata (``build`` holds the options and stats, plus
    ``split_info[split]`` for that split). ``relabel``: every label is the tie-break's path on its
    own grid (module docstring), not the record's answer (transformed for a variant).

    ``out`` is replaced only with ``force`` and only once both splits are written (:mod:`trm.data.output`).
    """
    check_output(out, force)
    rng = np.random.default_rng(seed)
    train = _subsample(list(train), subsample, rng)
    test = list(test)[:test_limit] if test_limit is not None else list(test)
    if val is not None and val_count:
        raise InputError("give validation mazes or a val_count to hold out, not both")
    train, held = _hold_out(train, val_count, seed)
    val = list(val) if val is not None else held
    if not train or not test:
        raise InputError(f"need at least one training and one test maze, got {len(train)} and {len(test)}")
    sides = {r.question.shape[0] for r in (*train, *test, *val)}
    if len(sides) != 1:
        raise InputError(f"all mazes of a dataset must have one size, found sides {sorted(sides)}")
    side = sides.pop()
    train_q = {r.question.tobytes() for r in train}
    overlap = sum(r.question.tobytes() in train_q for r in test)
    splits = [("train", train, augment), ("test", test, False)] + ([("val", val, False)] if val else [])
    result = {}
    with building(out, force) as tmp:
        for split, records, aug in splits:
            info = {**(build_info or {}), **(split_info or {}).get(split, {})}
            if val:
                info["val_mazes_also_in_train"] = sum(r.question.tobytes() in train_q for r in val)
            info.update(
                split=split,
                seed=seed,
                augment=aug,
                relabel=relabel,
                subsample=subsample if split == "train" else None,
                test_limit=test_limit if split == "test" else None,
                num_mazes=len(records),
                test_mazes_also_in_train=overlap,
                labels_are_shortest=sum(
                    int(np.count_nonzero(r.answer == PATH)) + 1 == shortest_path_length(r.question)
                    for r in records
                ),
            )
            if statistics:
                info["statistics"] = summarize([r.question for r in records])
            meta = DatasetMetadata(
                task="maze",
                vocab_size=VOCAB_SIZE,
                seq_len=side * side,
                grid_shape=(side, side),
                num_puzzle_identifiers=1,
                pad_id=0,
                ignore_label_id=0,
                build=info,
            )
            write_split(tmp, split, metadata=meta, **_arrays(records, aug, relabel))
            result[split] = meta
    return result


def build_from_files(
    out: str | Path, train_csv: str | Path, test_csv: str | Path, *, side: int | None = None, **options: Any
) -> dict[str, DatasetMetadata]:
    """Build from two local CSV files in the hub layout (options as :func:`build_dataset`)."""
    check_output(out, options.get("force", False))
    train, test = read_csv(train_csv, side=side), read_csv(test_csv, side=side)
    info = {"source": "files", "train_csv": str(train_csv), "test_csv": str(test_csv)}
    return build_dataset(out, train, test, build_info=info, **options)


def build_from_hub(
    out: str | Path, repo_id: str = HUB_REPO, *, revision: str | None = None, **options: Any
) -> dict[str, DatasetMetadata]:
    """Build from the hub dataset (default ``sapientinc/maze-30x30-hard-1k``, 30x30) or a local copy."""
    check_output(out, options.get("force", False))
    files = download_hub(repo_id, revision=revision)
    train, test = read_csv(files["train"]), read_csv(files["test"])
    info = {"source": "hub", "repo_id": repo_id, "revision": revision}
    return build_dataset(out, train, test, build_info=info, **options)


def build_generated(
    out: str | Path,
    *,
    num_train: int = 1000,
    num_test: int = 1000,
    side: int = 30,
    min_path_len: int | None = None,
    extra_open: float = 0.03,
    corner_open: float = 0.2,
    seed: int = 0,
    csv_dir: str | Path | None = None,
    progress: bool = False,
    num_val: int = 0,
    mix_sizes: Sequence[int] | None = None,
    relabel: bool = True,
    **options: Any,
) -> dict[str, DatasetMetadata]:
    """Generate mazes (train, test and ``num_val`` validation mazes from independent streams of ``seed``)
    and build the dataset.

    ``csv_dir`` also writes them as ``train.csv``/``test.csv`` (and ``val.csv``) in the hub layout.
    ``mix_sizes`` (e.g. ``(7, 9, 11)`` for ``side=11``): the training mazes take these sides in equal
    shares, each smaller one embedded in walls at a random offset of the board
    (:mod:`trm.data.maze.mixed_sizes`); test and validation mazes stay ``side`` x ``side`` mazes.
    ``relabel`` (on by default here): each dihedral variant gets the tie-break's own label.
    """
    if num_val < 0:
        raise InputError(f"num_val must be >= 0, got {num_val}")
    mix = check_mix_sizes(mix_sizes, side) if mix_sizes is not None else None
    check_output(out, options.get("force", False))
    gen = {"side": side, "min_path_len": min_path_len, "extra_open": extra_open, "corner_open": corner_open}
    if mix is None:
        train = generate_records(num_train, seed=seed, stream=0, progress=progress, **gen)
    else:
        train = generate_mixed_records(num_train, sizes=mix, seed=seed, stream=0, progress=progress, **gen)
    test = generate_records(num_test, seed=seed, stream=1, progress=progress, **gen)
    val = generate_records(num_val, seed=seed, stream=2, progress=progress, **gen) if num_val else None
    if csv_dir is not None:
        write_csv(Path(csv_dir) / "train.csv", train)
        write_csv(Path(csv_dir) / "test.csv", test)
        if val:
            write_csv(Path(csv_dir) / "val.csv", val)
    info = {"source": "generator", **gen}
    if mix is not None:
        pure = {"mix_sizes": None}  # test and val: board-size mazes only
        train_mix = {"mix_sizes": list(mix), "mix": mix_summary(mix, num_train, side)}
        options["split_info"] = {"train": train_mix, "test": pure, "val": pure}
    return build_dataset(out, train, test, seed=seed, build_info=info, val=val, relabel=relabel, **options)
