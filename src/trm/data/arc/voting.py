"""ARC evaluation as the papers do it: predict every augmented variant, undo the augmentation, vote.

For each test input of each evaluation task, the model's prediction on every variant is cropped at the EOS
border and mapped back to the original frame (inverse colour map, inverse dihedral transform). Identical
grids pool their votes; candidates are ranked by vote count, then by the mean of sigmoid(q_halt) of their
votes, then by their bytes (so ties never depend on arrival order). pass@K asks whether the true output is
among the top K (see :mod:`trm.data.arc.score` for the two task scores).

Design choices:

- Fresh by default: :func:`arc_evaluate` builds a new :class:`VoteTable` per call, so a score is the current
  model's alone. Pooling is explicit: pass ``pooled`` (a table the caller keeps) and this call's votes are
  added to it and the pooled table is scored too (metrics ``arc/pooled/...``; the submission then comes from
  the pool). That reproduces the reference, whose evaluator never clears its votes, so its final pass@K is
  an ensemble of every evaluation of the run (``eval.pool_votes`` in the trainer, ``trm arc evaluate
  --pool-votes`` over several checkpoints). Votes are sums, so pooling order does not matter.
- Works with one process or many: each process votes on the examples it predicted (``indices``); if
  ``torch.distributed`` is initialised the tables are gathered (``all_gather_object``) and merged, which is
  exact because votes are sums. Every rank returns the same result; write files on rank 0 only.
- A prediction that does not crop to a grid casts no vote (counted in ``no_grid``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trm.data import dihedral
from trm.data.arc.encode import COLOUR_OFFSET, SIDE, crop_shapes
from trm.data.arc.identifiers import VariantTable
from trm.data.arc.score import DEFAULT_KS, aggregate, rank_of
from trm.data.format import Split, atomic_write_text

CROP_CHUNK = 4096  # predictions cropped per vectorised call
Key = tuple[int, int]  # (task index in the variant table, test input index)


@dataclass
class Candidate:
    grid: np.ndarray
    count: int
    q_sum: float  # sum of sigmoid(q_halt) over the votes

    @property
    def mean_q(self) -> float:
        return self.q_sum / self.count


def _grid_key(grid: np.ndarray) -> bytes:
    return bytes([grid.shape[0], grid.shape[1]]) + grid.astype(np.uint8).tobytes()


def _grid_from_key(key: bytes) -> np.ndarray:
    return np.frombuffer(key[2:], dtype=np.uint8).reshape(key[0], key[1]).copy()


@dataclass
class VoteTable:
    """votes[(task, test)][grid bytes] = [count, sum of sigmoid(q_halt)]."""

    votes: dict[Key, dict[bytes, list[float]]] = field(default_factory=dict)
    no_grid: int = 0

    def add(self, task: int, test: int, grid: np.ndarray | None, q_halt: float) -> None:
        if grid is None:
            self.no_grid += 1
            return
        slot = self.votes.setdefault((task, test), {}).setdefault(_grid_key(grid), [0, 0.0])
        slot[0] += 1
        slot[1] += float(1.0 / (1.0 + np.exp(-np.float64(q_halt))))

    def merge(self, other: VoteTable) -> None:
        for key, cands in other.votes.items():
            mine = self.votes.setdefault(key, {})
            for g, (count, q_sum) in cands.items():
                slot = mine.setdefault(g, [0, 0.0])
                slot[0] += count
                slot[1] += q_sum
        self.no_grid += other.no_grid

    def ranked(self, task: int, test: int) -> list[Candidate]:
        """Candidates best first: count, then mean sigmoid(q_halt), then grid bytes."""
        cands = self.votes.get((task, test), {})
        order = sorted(cands.items(), key=lambda kv: (-kv[1][0], -kv[1][1] / kv[1][0], kv[0]))
        return [Candidate(_grid_from_key(g), int(c), float(q)) for g, (c, q) in order]


def collect_votes(
    split: Split,
    table: VariantTable,
    predictions: np.ndarray,
    q_halt: np.ndarray,
    indices: np.ndarray | None = None,
) -> VoteTable:
    """Votes of ``predictions`` [E', L] (tokens) and ``q_halt`` [E'] for examples ``indices`` [E'] of the test
    split (default: the first E' examples, in order)."""
    predictions = np.asarray(predictions)
    idx = np.arange(len(predictions)) if indices is None else np.asarray(indices, dtype=np.int64)
    if len(idx) != len(predictions) or len(np.asarray(q_halt)) != len(predictions):
        raise ValueError(
            f"predictions {predictions.shape}, q_halt and indices {idx.shape} disagree in length"
        )
    pi = np.asarray(split.puzzle_indices)
    puzzle = np.searchsorted(pi, idx, side="right") - 1  # [E'] puzzle of each example
    test = idx - pi[puzzle]  # [E'] test input index within the variant
    ident = np.asarray(split.puzzle_identifiers)[puzzle]
    task = table.task_index[ident]
    if np.any(task < 0):
        raise ValueError("an example has the blank identifier 0; is this split from `trm data arc`?")
    inverse_maps = np.argsort(table.colour_map, axis=1).astype(np.uint8)  # [N+1, 10] inverse permutations
    votes = VoteTable()
    q_halt = np.asarray(q_halt, dtype=np.float64)
    for s in range(0, len(idx), CROP_CHUNK):  # crop shapes vectorised per chunk (bounded memory)
        rows = np.asarray(predictions[s : s + CROP_CHUNK]).reshape(-1, SIDE, SIDE)
        heights, widths = crop_shapes(rows)
        for r in range(len(rows)):
            e, h, w = s + r, int(heights[r]), int(widths[r])
            grid = None
            if h:
                i = int(ident[e])
                cells = inverse_maps[i][rows[r, :h, :w] - COLOUR_OFFSET]  # undo the colour map
                grid = dihedral.apply(dihedral.inverse(int(table.transform[i])), cells)  # undo the transform
            votes.add(int(task[e]), int(test[e]), grid, float(q_halt[e]))
    return votes


def gather_votes(votes: VoteTable) -> VoteTable:
    """Merge the tables of all processes when torch.distributed is initialised; else return ``votes``."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return votes
    parts: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(parts, (votes.votes, votes.no_grid))
    merged = VoteTable()
    for v, n in parts:  # in rank order, so every rank builds the same table
        merged.merge(VoteTable(v, n))
    return merged


@dataclass
class ArcResult:
    metrics: dict[str, float]
    ranks: dict[str, list[int | None]]  # per task, per test input: rank of the true output (None: absent)
    submission: dict[str, list[dict[str, list[list[int]]]]]
    votes: VoteTable


def make_submission(
    votes: VoteTable, table: VariantTable, attempts: int = 2
) -> dict[str, list[dict[str, Any]]]:
    """ARC Prize submission of every evaluation task: the top ``attempts`` candidates per test input
    (``[[0]]`` where there are fewer, as the format requires every attempt)."""
    sub: dict[str, list[dict[str, Any]]] = {}
    for k, info in enumerate(table.tasks):
        if info.role != "eval":
            continue
        entries = []
        for j in range(info.num_test):
            top = votes.ranked(k, j)[:attempts]
            entries.append(
                {
                    f"attempt_{a + 1}": (top[a].grid.tolist() if a < len(top) else [[0]])
                    for a in range(attempts)
                }
            )
        sub[info.name] = entries
    return sub


def write_submission(path: str | Path, submission: dict[str, Any]) -> None:
    atomic_write_text(Path(path), json.dumps(submission, separators=(",", ":")) + "\n")


def arc_evaluate(
    split: Split,
    table: VariantTable,
    predictions: np.ndarray,
    q_halt: np.ndarray,
    *,
    indices: np.ndarray | None = None,
    solutions: dict[str, Sequence[np.ndarray]] | None = None,
    ks: Sequence[int] = DEFAULT_KS,
    submission_path: str | Path | None = None,
    pooled: VoteTable | None = None,
) -> ArcResult:
    """Vote (gathering across processes), score against ``solutions`` if given, build the submission.

    Metrics (prefix ``arc/``): ``pass@K`` (TRM, fractional per test input), ``pass@K_strict`` (HRM,
    all-or-nothing), ``test_pass@K`` (per test input), ``num_tasks``, ``num_test_inputs``, ``no_grid``,
    ``mean_candidates``. With ``pooled``, this call's votes are added to it and the same metrics of the pool
    follow under ``arc/pooled/``; ranks, submission and votes of the result are then the pool's.
    """
    votes = gather_votes(collect_votes(split, table, predictions, q_halt, indices))
    if pooled is None:
        return score_votes(votes, table, solutions, ks=ks, submission_path=submission_path)
    pooled.merge(votes)
    own = score_votes(votes, table, solutions, ks=ks)
    result = score_votes(pooled, table, solutions, ks=ks, submission_path=submission_path)
    result.metrics = {
        **own.metrics,
        **{k.replace("arc/", "arc/pooled/", 1): v for k, v in result.metrics.items()},
    }
    return result


def score_votes(
    votes: VoteTable,
    table: VariantTable,
    solutions: dict[str, Sequence[np.ndarray]] | None = None,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    submission_path: str | Path | None = None,
) -> ArcResult:
    """Rank, score and build the submission of a vote table (see :func:`arc_evaluate` for the metrics)."""
    ranks: dict[str, list[int | None]] = {}
    ncand = []
    for k, info in enumerate(table.tasks):
        if info.role != "eval" or (solutions is not None and info.name not in solutions):
            continue
        row = []
        for j in range(info.num_test):
            ranked = votes.ranked(k, j)
            ncand.append(len(ranked))
            truth = solutions[info.name][j] if solutions is not None else None
            row.append(rank_of(truth, [c.grid for c in ranked]) if truth is not None else None)
        ranks[info.name] = row
    metrics = {f"arc/{k}": v for k, v in aggregate(ranks, ks).items()} if solutions is not None else {}
    metrics["arc/no_grid"] = float(votes.no_grid)
    metrics["arc/mean_candidates"] = float(np.mean(ncand)) if ncand else 0.0
    submission = make_submission(votes, table)
    if submission_path is not None and _is_rank_zero():
        write_submission(submission_path, submission)
    return ArcResult(metrics, ranks, submission, votes)


def vote_on_dataset(
    root: str | Path,
    predictions: np.ndarray,
    q_halt: np.ndarray,
    *,
    indices: np.ndarray | None = None,
    ks: Sequence[int] = DEFAULT_KS,
    submission_path: str | Path | None = None,
    pooled: VoteTable | None = None,
) -> ArcResult:
    """:func:`arc_evaluate` on the ``test`` split of a dataset built by ``trm data arc`` (its variant table
    and ``arc_solutions.json``). The hook for a trainer's periodic evaluation on task "arc"."""
    from trm.data.arc.score import SOLUTIONS_FILE, load_solutions
    from trm.data.format import open_split

    root = Path(root)
    sol = root / SOLUTIONS_FILE
    return arc_evaluate(
        open_split(root, "test"),
        VariantTable.load(root),
        predictions,
        q_halt,
        indices=indices,
        solutions=load_solutions(path=sol) if sol.exists() else None,
        ks=ks,
        submission_path=submission_path,
        pooled=pooled,
    )


def _is_rank_zero() -> bool:
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0
