"""Build an augmented ARC dataset in trm's on-disk format (the TRM paper's ARC protocol, arXiv 2510.04871).

Layout of the output folder::

    train/        one puzzle per augmented variant of every task: its pairs, all but one translated at random
    test/         one puzzle per variant of every evaluation task: its test inputs (not translated)
    arc_variants.npz, arc_tasks.json   the variant table (see identifiers.py)
    arc_solutions.json                 the evaluation tasks' true test outputs, Kaggle solutions layout

Design choices:

- Roles. A *training* task contributes all its pairs (demonstrations and, when known, test pairs) to
  ``train``. An *evaluation* task contributes its demonstrations to ``train`` and its test inputs to
  ``test`` only. Its variants have ONE identifier in both splits, so the puzzle embedding learned from the
  demonstrations is the one used on the held-out test input.
- Leak check (``overlap.py``). A training task with a pair whose input is a test input of an evaluation
  task holds that task's answer. ARC-AGI-2's training set holds 376 of ARC-AGI-1's 400 evaluation tasks:
  such a build is refused with an explanation. ``overlap="auto"`` (default) refuses when >= 5% of the
  evaluation tasks are hit and otherwise drops the few duplicates, naming them in the metadata (ARC-AGI-1
  itself has one: training 40853293 contains all pairs of evaluation 070dd51e); "refuse", "drop" and
  "allow" force a policy.
- Two passes, bounded memory. Pass 1 draws every task's variants (the variant table, 15 bytes a variant),
  which fixes all array sizes. Pass 2 renders each task's tokens (vectorised per transform and pair) and
  appends them to the ``.npy`` files, so RAM holds one task at a time (tens of MB) whatever the variant count.
- Translation as the reference builder does it: in every variant, ONE training pair (drawn at random)
  stays at the top-left corner, where every test input sits, and the others go to random offsets. So the
  model sees the test placement in every variant, not only by chance.
- Variant count: ``variants`` counts the original too; the default 1,001 = the original + 1,000
  augmentations, as the reference (``num_aug=1000`` on top of the original).
- Determinism: every random draw comes from ``(seed, task name, stream)``; the metadata holds no times or
  absolute paths of the output, so the same inputs and seed give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from trm.data import dihedral
from trm.data.arc import augment
from trm.data.arc.encode import COLOUR_OFFSET, GRID_SHAPE, SEQ_LEN, SIDE, VOCAB_SIZE, paste, tiles
from trm.data.arc.identifiers import TaskInfo, VariantTable
from trm.data.arc.overlap import OverlapError, find_overlap, overlap_message, resolve_overlap
from trm.data.arc.tasks_io import ArcTaskData, load_source
from trm.data.format import (
    METADATA_FILE,
    DatasetMetadata,
    atomic_file,
    atomic_save_npy,
    atomic_write_text,
    file_records,
    open_split,
)
from trm.data.output import building, check_output
from trm.errors import InputError

SOLUTIONS_FILE = "arc_solutions.json"
DEFAULT_VARIANTS = 1 + 1000  # the original + 1,000 augmentations, as the reference
SETS = {
    "arc1": (["arc1/training"], ["arc1/evaluation"]),
    "arc2": (["arc2/training"], ["arc2/evaluation"]),
}


@dataclass
class _Job:
    task: ArcTaskData
    role: str  # "train" | "eval"
    pairs_in: list[np.ndarray]  # pairs written to the train split
    pairs_out: list[np.ndarray]


def default_sources(set_name: str, conceptarc: str | Path | None = None) -> tuple[list[str], list[str]]:
    """(training sources, evaluation sources) of ``arc1`` / ``arc2``, as the TRM paper uses them."""
    if set_name not in SETS:
        raise InputError(f"unknown ARC set {set_name!r}; choose one of {sorted(SETS)}")
    train, evaluation = (list(x) for x in SETS[set_name])
    if conceptarc is not None:  # the repository root or its corpus/ (160 tasks; MinimalTasks are not used)
        corpus = Path(conceptarc) / "corpus"
        train.append(str(corpus if corpus.is_dir() else conceptarc))
    return train, evaluation


def _load_jobs(
    train_sources: Sequence[str], eval_sources: Sequence[str], overlap: str
) -> tuple[list[_Job], list[str]]:
    train_tasks = [t for s in train_sources for t in load_source(s)]
    eval_tasks = [t for s in eval_sources for t in load_source(s)]
    found = find_overlap(train_tasks, eval_tasks)
    try:
        leaking = resolve_overlap(found, len(eval_tasks), overlap)
    except OverlapError:
        raise OverlapError(overlap_message(found, train_sources, eval_sources)) from None
    train_tasks = [t for t in train_tasks if t.name not in leaking]
    names: dict[str, str] = {}
    for t in train_tasks + eval_tasks:
        if t.name in names:
            raise InputError(f"task name {t.name} appears in two sources ({names[t.name]} and {t.source})")
        names[t.name] = t.source
    jobs = []
    for t in train_tasks:
        known = t.test_outputs is not None
        ins = t.train_inputs + (t.test_inputs if known else [])
        outs = t.train_outputs + (t.test_outputs if known else [])
        jobs.append(_Job(t, "train", ins, outs))
    for t in eval_tasks:
        jobs.append(_Job(t, "eval", list(t.train_inputs), list(t.train_outputs)))
    return jobs, sorted(leaking)


def _dedup_grids(job: _Job) -> list[np.ndarray]:
    """The grids that define a variant's content (an evaluation task's test outputs are not looked at)."""
    return job.pairs_in + job.pairs_out + job.task.test_inputs


def render(
    ins: Sequence[np.ndarray],
    outs: Sequence[np.ndarray] | None,
    transforms: np.ndarray,
    maps: np.ndarray,
    offsets: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Tokens of every (variant, pair): inputs and labels [V, P, 900] uint8.

    ``offsets`` [V, P, 2] in [0, 1) places each pair (input and output alike) at a random offset that keeps
    both inside the canvas; None draws every grid at the top-left. ``outs`` None gives all-PAD labels.
    """
    v, p, side = len(transforms), len(ins), SIDE + 1
    canvas_in = np.zeros((v, p, side, side), dtype=np.uint8)  # one spare row/column, cropped below
    canvas_out = np.zeros((v, p, side, side), dtype=np.uint8)
    flat_in, flat_out = canvas_in.reshape(-1), canvas_out.reshape(-1)
    lut = maps.astype(np.uint8) + COLOUR_OFFSET  # [V, 10] colour -> token, per variant
    for t in range(dihedral.NUM_TRANSFORMS):
        vs = np.flatnonzero(transforms == t)
        if vs.size == 0:
            continue
        for j in range(p):
            gi = dihedral.apply(t, ins[j])
            go = dihedral.apply(t, outs[j]) if outs is not None else None
            h = max(gi.shape[0], go.shape[0] if go is not None else 0)
            w = max(gi.shape[1], go.shape[1] if go is not None else 0)
            starts = (vs * p + j) * side * side  # [n_t] flat position of each variant's canvas for pair j
            if offsets is not None:
                rows = (offsets[vs, j, 0] * (SIDE - h + 1)).astype(np.int64)
                cols = (offsets[vs, j, 1] * (SIDE - w + 1)).astype(np.int64)
                starts = starts + rows * side + cols
            lut_t = lut[vs]  # [n_t, 10]
            paste(
                flat_in, starts, tiles(lut_t[:, gi]), side
            )  # lut_t[:, g]: [n_t, h, w], every colour map at once
            if go is not None:
                paste(flat_out, starts, tiles(lut_t[:, go]), side)
    x = np.ascontiguousarray(canvas_in[:, :, :SIDE, :SIDE]).reshape(v, p, SEQ_LEN)
    y = np.ascontiguousarray(canvas_out[:, :, :SIDE, :SIDE]).reshape(v, p, SEQ_LEN)
    return x, y


def translation_offsets(rng: np.random.Generator, num_variants: int, num_pairs: int) -> np.ndarray:
    """Offsets [V, P, 2] in [0, 1) for :func:`render`: random, except one pair per variant (drawn at random)
    at 0, the top-left corner where test inputs always sit (the reference builder's ``no_aug_id``)."""
    offsets = rng.random((num_variants, num_pairs, 2))
    if num_pairs:
        offsets[np.arange(num_variants), rng.integers(0, num_pairs, size=num_variants)] = 0.0
    return offsets


def _append_rows(f: IO[bytes], rows: np.ndarray) -> int:
    """Append uint8 token rows to an open ``.npy`` body after checking their range; returns the row count."""
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    if rows.size and int(rows.max()) >= VOCAB_SIZE:
        raise ValueError(f"token {int(rows.max())} outside 0..{VOCAB_SIZE - 1}")
    f.write(rows.tobytes())
    return len(rows)


def _write_split(
    out: Path,
    jobs: list[tuple[_Job, int, Sequence[np.ndarray], Sequence[np.ndarray] | None]],
    table: VariantTable,
    metadata: DatasetMetadata,
    translate_seed: int | None,
    tick: Callable[[], None],
) -> None:
    """Write one split; ``jobs`` = (job, task index, inputs, outputs or None) per task with examples here.

    The token arrays are streamed: a ``.npy`` header for the known final shape, then one task at a time.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / METADATA_FILE).unlink(missing_ok=True)  # a split without metadata is visibly incomplete
    counts = [(table.tasks[k].count, len(ins)) for _, k, ins, _ in jobs]
    num_examples = sum(v * p for v, p in counts)
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False}
    with ExitStack() as stack:
        files = [stack.enter_context(atomic_file(out / f"{n}.npy")) for n in ("inputs", "labels")]
        for f in files:
            np.lib.format.write_array_header_1_0(f, {**header, "shape": (num_examples, SEQ_LEN)})
        written = 0
        for job, k, ins, outs in jobs:
            info = table.tasks[k]
            sl = slice(info.first, info.first + info.count)
            offsets = None
            if translate_seed is not None:
                offsets = translation_offsets(
                    augment.task_rng(translate_seed, job.task.name, 1), info.count, len(ins)
                )
            x, y = render(ins, outs, table.transform[sl], table.colour_map[sl], offsets)
            written += _append_rows(files[0], x.reshape(-1, SEQ_LEN))
            _append_rows(files[1], y.reshape(-1, SEQ_LEN))
            tick()
        if written != num_examples:
            raise RuntimeError(f"{out}: wrote {written} examples, expected {num_examples}")
    ids = np.concatenate(
        [np.arange(table.tasks[k].first, table.tasks[k].first + table.tasks[k].count) for _, k, _, _ in jobs]
    )
    per_puzzle = np.concatenate([np.full(v, p, dtype=np.int64) for v, p in counts])
    small = {
        "puzzle_identifiers": ids.astype(np.int32),
        "puzzle_indices": np.concatenate([[0], np.cumsum(per_puzzle)]).astype(np.int64),
        "group_indices": np.concatenate([[0], np.cumsum([v for v, _ in counts])]).astype(np.int64),
    }
    for name, arr in small.items():
        atomic_save_npy(out / f"{name}.npy", arr)
    metadata.num_examples, metadata.num_puzzles, metadata.num_groups = num_examples, len(ids), len(counts)
    metadata.files = file_records(out)
    atomic_write_text(out / METADATA_FILE, metadata.to_json())
    try:  # structure: shapes, index coverage (the token range was checked chunk by chunk while writing)
        split = open_split(out.parent, out.name, check=True)
        if not (np.all(np.diff(split.puzzle_indices) > 0) and np.all(np.diff(split.group_indices) > 0)):
            raise ValueError(f"{out}: empty puzzle or group")
    except BaseException:
        (out / METADATA_FILE).unlink(missing_ok=True)
        raise


def build_arc_dataset(
    out: str | Path,
    *,
    train_sources: Sequence[str],
    eval_sources: Sequence[str],
    variants: int = DEFAULT_VARIANTS,
    seed: int = 0,
    translate: bool = True,
    overlap: str = "auto",
    progress: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Build ``out/train`` and ``out/test``; return a summary (counts per split, tasks, variants).

    ``out`` is replaced only with ``force`` and only once complete (:mod:`trm.data.output`).
    """
    out = Path(out)
    check_output(out, force)
    jobs, dropped = _load_jobs(train_sources, eval_sources, overlap)
    if not any(j.role == "eval" for j in jobs):
        raise InputError("no evaluation tasks: give at least one evaluation source")
    infos, transforms, maps = [], [], []
    bar = _progress(2 * len(jobs) + sum(j.role == "eval" for j in jobs), progress, "arc")
    for job in jobs:
        ts, ms = augment.sample_variants(
            _dedup_grids(job), variants, augment.task_rng(seed, job.task.name, 0)
        )
        transforms.append(ts)
        maps.append(ms)
        infos.append(TaskInfo(job.task.name, job.task.source, job.role, job.task.num_test, 0, 0))
        bar()
    table = VariantTable.from_parts(infos, transforms, maps)
    build = {
        "source": "trm data arc",
        "train_sources": list(train_sources),
        "eval_sources": list(eval_sources),
        "variants": variants,
        "seed": seed,
        "translate": translate,
        "overlap": overlap,
        "dropped_overlapping_tasks": dropped,
        "num_tasks": {
            "train": sum(j.role == "train" for j in jobs),
            "eval": sum(j.role == "eval" for j in jobs),
        },
        "num_variants": table.num_identifiers - 1,
    }

    def meta() -> DatasetMetadata:
        return DatasetMetadata(
            task="arc",
            vocab_size=VOCAB_SIZE,
            seq_len=SEQ_LEN,
            grid_shape=GRID_SHAPE,
            num_puzzle_identifiers=table.num_identifiers,
            pad_id=0,
            ignore_label_id=0,
            build=dict(build),
        )

    train_jobs = [(j, k, j.pairs_in, j.pairs_out) for k, j in enumerate(jobs) if j.pairs_in]
    test_jobs = [
        (j, k, j.task.test_inputs, j.task.test_outputs) for k, j in enumerate(jobs) if j.role == "eval"
    ]
    solutions = {
        j.task.name: [g.tolist() for g in j.task.test_outputs]
        for j in jobs
        if j.role == "eval" and j.task.test_outputs
    }
    with building(out, force) as tmp:
        table.save(tmp)
        _write_split(tmp / "train", train_jobs, table, meta(), seed if translate else None, bar)
        _write_split(tmp / "test", test_jobs, table, meta(), None, bar)
        atomic_write_text(tmp / SOLUTIONS_FILE, json.dumps(solutions, separators=(",", ":")) + "\n")
        digest = split_digest(tmp)
    return {"out": str(out), **build, "digest": digest}


def split_digest(root: str | Path) -> str:
    """SHA-256 of the variant table and both splits' metadata: a short fingerprint of a build."""
    h = hashlib.sha256()
    root = Path(root)
    for rel in ("arc_variants.npz", "arc_tasks.json", "train/metadata.json", "test/metadata.json"):
        h.update((root / rel).read_bytes())
    return h.hexdigest()[:16]


def _progress(total: int, enabled: bool, desc: str) -> Callable[[], None]:
    if not enabled:
        return lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="task-step")
    return lambda: bar.update(1)


__all__ = [
    "DEFAULT_VARIANTS",
    "OverlapError",
    "SETS",
    "build_arc_dataset",
    "default_sources",
    "find_overlap",
    "render",
    "translation_offsets",
]
