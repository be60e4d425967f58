"""Batches of examples from a dataset split: a resumable training stream and padded evaluation batches.

Design choices:

- **Epoch semantics of the papers.** Epoch ``e`` draws everything from ``np.random.default_rng([seed, e])``:
  a permutation of the groups and, for each group, ONE random puzzle (augmented variant); every example of
  that puzzle is emitted, in stored order. So an epoch is one pass over the original puzzles, each seen
  through one random variant. Seeding from ``(seed, epoch)`` makes any epoch reproducible on its own, so a
  run resumes without replaying earlier epochs. ``order="examples"`` (``data.order``) is the measured
  alternative: an epoch is one pass over every stored example, augmented variants included, in one
  shuffled order (docs/learning.md compares the two).
- **A continuous stream.** Epochs follow each other without a gap and the stream is cut into global batches
  of exactly ``batch_size`` examples; a batch may straddle two (or, on a tiny set, more) epochs. The whole
  position in the stream is ``LoaderState(epoch, offset)``: the next example is number ``offset`` of epoch
  ``epoch``'s order. ``state_dict()`` / ``load_state_dict()`` round-trip it, so an interrupted run continues
  with the identical batch sequence.
- **Sharding.** ``batch_size`` is the GLOBAL batch. Every rank computes the same global order and takes its
  contiguous ``batch_size // world_size`` rows of each global batch, so the ranks' slices are disjoint and
  their union is the global batch. Evaluation shards the same way, and every rank gets the same number of
  batches (padded), which keeps collective operations in step.
- **Memory.** Token arrays stay memory-mapped; each batch reads only its rows (fancy indexing on the
  memmap). Only the per-epoch index order (one int64 per example of the epoch) lives in RAM.
- **Labels.** Stored label tokens equal to the metadata's ``ignore_label_id`` become -100 (the value the
  losses ignore); ``ignore_label_id=None`` scores every cell.
- **Prefetch.** ``prefetch=k > 0`` builds up to ``k`` batches ahead in a background thread. The state
  reported by ``state_dict()`` is always that of the batches the caller has *consumed*, not produced.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from trm.data.format import Split
from trm.scoring import IGNORE_LABEL

Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class LoaderState:
    """Position in the training stream: the next example is number ``offset`` of epoch ``epoch``."""

    epoch: int = 0
    offset: int = 0


ORDERS = ("groups", "examples")  # the papers' epochs; every stored example once per epoch


def epoch_order(split: Split, seed: int, epoch: int, order: str = "groups") -> np.ndarray:
    """Example indices [E_epoch] int64 of one epoch. ``groups``: groups shuffled, one random puzzle per
    group; ``examples``: every example of the split once, shuffled.

    Uses only ``np.random.default_rng([seed, epoch])``, so every epoch can be recomputed on its own.
    """
    if seed < 0 or epoch < 0:
        raise ValueError(f"seed and epoch must be >= 0, got seed={seed}, epoch={epoch}")
    if order not in ORDERS:
        raise ValueError(f"unknown data order {order!r}; known: {', '.join(ORDERS)}")
    rng = np.random.default_rng([seed, epoch])
    if order == "examples":
        return rng.permutation(split.num_examples).astype(np.int64)
    gi = np.asarray(split.group_indices, dtype=np.int64)
    pi = np.asarray(split.puzzle_indices, dtype=np.int64)
    groups = rng.permutation(len(gi) - 1)  # [G]
    sizes = gi[groups + 1] - gi[groups]  # [G] puzzles per chosen group
    puzzles = gi[groups] + rng.integers(0, sizes)  # [G] one random variant of each group
    starts, counts = pi[puzzles], pi[puzzles + 1] - pi[puzzles]  # [G] first example, examples per puzzle
    # Concatenate the ranges starts[k]:starts[k]+counts[k] without a Python loop.
    first = np.cumsum(counts) - counts  # [G] position of each puzzle's first example in the epoch
    return np.repeat(starts - first, counts) + np.arange(int(counts.sum()), dtype=np.int64)


def _examples_per_epoch(split: Split) -> int:
    """Examples in one epoch; exact when a group's puzzles all have the same number of examples (Sudoku:
    one example per puzzle, so this is the number of groups), otherwise the expected value, rounded."""
    gi = np.asarray(split.group_indices, dtype=np.int64)
    counts = np.diff(np.asarray(split.puzzle_indices, dtype=np.int64)).astype(np.float64)  # [P]
    group_of_puzzle = np.repeat(np.arange(len(gi) - 1), np.diff(gi))  # [P]
    per_group = np.bincount(group_of_puzzle, weights=counts) / np.diff(gi)  # [G] mean examples per puzzle
    return int(round(float(per_group.sum())))


def make_batch(split: Split, index: np.ndarray) -> Batch:
    """The rows ``index`` [B] of a split as tensors: inputs [B, L], labels [B, L] (-100 = ignored),
    puzzle_identifiers [B], all int64."""
    index = np.asarray(index, dtype=np.int64)
    # Reading sorted rows is sequential on the memmap; ``inverse`` restores the requested order.
    uniq, inverse = np.unique(index, return_inverse=True)
    inputs = np.asarray(split.inputs[uniq], dtype=np.int64)[inverse]  # [B, L]
    labels = np.asarray(split.labels[uniq], dtype=np.int64)[inverse]  # [B, L]
    ignore = split.metadata.ignore_label_id
    if ignore is not None:
        labels[labels == ignore] = IGNORE_LABEL
    puzzle_of_example = np.searchsorted(split.puzzle_indices, index, side="right") - 1  # [B]
    identifiers = np.asarray(split.puzzle_identifiers[puzzle_of_example], dtype=np.int64)  # [B]
    return {
        "inputs": torch.from_numpy(inputs),
        "labels": torch.from_numpy(labels),
        "puzzle_identifiers": torch.from_numpy(identifiers),
    }


class TrainLoader:
    """Endless training stream of per-rank batches (see the module docstring for the semantics).

    ``batch_size`` is the global batch; each rank yields ``batch_size // world_size`` rows per batch.
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        seed: int = 0,
        *,
        rank: int = 0,
        world_size: int = 1,
        prefetch: int = 0,
        order: str = "groups",
    ) -> None:
        if order not in ORDERS:
            raise ValueError(f"unknown data order {order!r}; known: {', '.join(ORDERS)}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if world_size <= 0 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        if batch_size % world_size:
            raise ValueError(f"global batch_size {batch_size} is not divisible by world_size {world_size}")
        if split.num_examples == 0:
            raise ValueError(f"{split.path}: the split has no examples")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.split, self.batch_size, self.seed = split, batch_size, seed
        self.rank, self.world_size, self.prefetch, self.order = rank, world_size, prefetch, order
        self.local_batch_size = batch_size // world_size
        self.examples_per_epoch = split.num_examples if order == "examples" else _examples_per_epoch(split)
        self._state = LoaderState()  # position after the last batch the caller consumed
        self._cursor = LoaderState()  # position of the producer (ahead of _state when prefetching)
        self._orders: dict[int, np.ndarray] = {}  # cache: epoch -> order (at most two epochs kept)
        self._orders_lock = threading.Lock()  # the prefetch thread and the caller both read the cache
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue | None = None
        self._stop = threading.Event()

    # -- position -----------------------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        """Epoch of the next example the caller will receive (= completed epochs)."""
        return self._state.epoch

    @property
    def epochs_done(self) -> float:
        """Fractional epochs consumed so far, e.g. 3.25."""
        return self._state.epoch + self._state.offset / len(self._order(self._state.epoch))

    def state_dict(self) -> dict[str, Any]:
        state = {**asdict(self._state), "seed": self.seed, "num_groups": self.split.num_groups}
        return state | ({"order": self.order} if self.order != "groups" else {})  # older states: groups

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("seed", self.seed) != self.seed:
            raise ValueError(f"loader state was saved with seed {state['seed']}, this loader has {self.seed}")
        if state.get("num_groups", self.split.num_groups) != self.split.num_groups:
            raise ValueError(
                f"loader state was saved on a split of {state['num_groups']} groups, "
                f"{self.split.path} has {self.split.num_groups}"
            )
        if state.get("order", "groups") != self.order:
            raise ValueError(
                f"loader state was saved with data order {state.get('order', 'groups')!r}, "
                f"this loader has {self.order!r} (data.order)"
            )
        new = LoaderState(epoch=int(state["epoch"]), offset=int(state["offset"]))
        self.close()
        if new.epoch < 0 or not 0 <= new.offset < len(self._order(new.epoch)):
            raise ValueError(f"loader state {new} is outside the stream")
        self._state = self._cursor = new

    # -- producing batches --------------------------------------------------------------------------------
    def _order(self, epoch: int) -> np.ndarray:
        with self._orders_lock:
            if epoch not in self._orders:
                if len(self._orders) >= 3:
                    del self._orders[min(self._orders)]
                self._orders[epoch] = epoch_order(self.split, self.seed, epoch, self.order)
            return self._orders[epoch]

    def _next_global_index(self) -> np.ndarray:
        """Example indices [batch_size] of the next global batch; advances the producer's cursor."""
        parts, need = [], self.batch_size
        epoch, offset = self._cursor.epoch, self._cursor.offset
        while need:
            order = self._order(epoch)
            take = order[offset : offset + need]
            parts.append(take)
            need -= len(take)
            offset += len(take)
            if offset == len(order):
                epoch, offset = epoch + 1, 0
        self._cursor = LoaderState(epoch, offset)
        return np.concatenate(parts)

    def _produce(self) -> tuple[Batch, LoaderState]:
        index = self._next_global_index()  # [batch_size]
        lo = self.rank * self.local_batch_size
        return make_batch(self.split, index[lo : lo + self.local_batch_size]), self._cursor

    def _worker(self) -> None:
        assert self._queue is not None
        try:
            while not self._stop.is_set():
                self._put(self._produce())
        except Exception as e:  # handed to the consumer, which re-raises it
            self._put(e)

    def _put(self, item: object) -> None:
        """Queue ``item``, giving up when the loader is being closed (so close() never waits forever)."""
        assert self._queue is not None
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Batch]:
        return self

    def __next__(self) -> Batch:
        if self.prefetch <= 0:
            batch, self._state = self._produce()
            return batch
        if self._thread is None:
            self._cursor = self._state
            self._stop.clear()
            self._queue = queue.Queue(maxsize=self.prefetch)
            self._thread = threading.Thread(target=self._worker, name="trm-loader", daemon=True)
            self._thread.start()
        assert self._queue is not None
        item = self._queue.get()
        if isinstance(item, Exception):
            self.close()
            raise RuntimeError("the loader's prefetch thread failed") from item
        batch, self._state = item
        return batch

    def close(self) -> None:
        """Stop the prefetch thread (if any); the next batch continues from the consumed state."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread, self._queue = None, None
        self._cursor = self._state

    def __del__(self) -> None:
        if getattr(self, "_thread", None) is not None:
            self._stop.set()


def num_eval_batches(split: Split, batch_size: int, limit: int | None = None) -> int:
    """How many batches :func:`eval_batches` yields (the same on every rank)."""
    n = _eval_count(split, limit)
    return -(-n // batch_size)


def _eval_count(split: Split, limit: int | None) -> int:
    if limit is None or limit >= split.num_puzzles:
        return split.num_examples
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}")
    return int(split.puzzle_indices[limit])


def eval_batches(
    split: Split,
    batch_size: int,
    limit: int | None = None,
    *,
    rank: int = 0,
    world_size: int = 1,
) -> Iterator[Batch]:
    """Every example in stored order (or those of the first ``limit`` puzzles), in global batches of
    ``batch_size``; rank ``rank`` gets its ``batch_size // world_size`` rows of each.

    Each batch adds ``mask`` [b] bool (real rows) and ``index`` [b] int64 (example index in the split, -1 on
    padding). The last batch is padded to full size: padding rows hold ``pad_id`` inputs and -100 labels.
    """
    if batch_size <= 0 or world_size <= 0 or batch_size % world_size or not 0 <= rank < world_size:
        raise ValueError(
            f"need batch_size % world_size == 0 and 0 <= rank < world_size, got "
            f"batch_size={batch_size}, rank={rank}, world_size={world_size}"
        )
    n = _eval_count(split, limit)
    local = batch_size // world_size
    pad_id = split.metadata.pad_id
    for start in range(0, n, batch_size):
        lo = start + rank * local
        index = np.arange(lo, lo + local, dtype=np.int64)  # [b]
        real = index < n  # [b]
        batch = make_batch(split, np.where(real, index, 0))
        pad = torch.from_numpy(~real)
        batch["inputs"][pad] = pad_id
        batch["labels"][pad] = IGNORE_LABEL
        batch["puzzle_identifiers"][pad] = 0
        batch["mask"] = torch.from_numpy(real)
        batch["index"] = torch.from_numpy(np.where(real, index, -1))
        yield batch
