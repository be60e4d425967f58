"""The rollout engine: the one loop of supervision steps behind evaluation, the solvers, test-time compute
and serving, written over a small :class:`Stepper` interface so the PyTorch model
(:class:`trm.rollout.torch_step.TorchStepper`) and the torch-free ONNX runtime
(:class:`trm.runtime.solver.OnnxStepper`) share it. No torch import here.

    for event in rollout(stepper, chunks, steps=N, slots=S, exit_on_halt=..., compact=..., perturb=...):
        ...   # one StepEvent per model call: the slots' rows, steps taken, logits, argmax, halting signal

Design choices:

- **Slots and rows.** The engine holds S slots; rows (puzzles) come from ``chunks`` (dicts of NumPy arrays
  [r, ...]: inputs, puzzle_identifiers, labels, ...), numbered 0, 1, 2, ... in arrival order. A slot
  keeps its row until the row is *done*: after ``steps`` supervision steps, or, with ``exit_on_halt``,
  at its first step whose halting signal is > 0 (the halting head's "stop"; this is ``trm eval
  --early-halt`` and the test-time compute ``exit=q`` alike).
- **Continuous batching.** A freed slot takes the next row at once, so finished rows cost nothing more.
  When no row is left, a freed slot is dropped (``compact``: the batch shrinks, as test-time compute
  wants) or idles on the ``pad`` row (fixed shapes, as evaluation wants; its outputs are never read).
  Without ``exit_on_halt`` rows loaded together stay in lockstep.
- **Resetting is explicit.** Every step passes the stepper ``reset`` [S]: the slots that load their row
  on this call. The others continue, whatever the model's own halted flags say, so a row keeps its
  puzzle for any number of steps, also past the model's N_sup.
- **Perturbation hook.** ``perturb(state, rows)`` may change the carried state before every step (test-
  time noise). Then slots are loaded *before* their first step (``Stepper.preload``), so the hook also
  sees, and may change, each row's initial state.
- **Exit rule.** ``exit_rule(rows, signal, pred)`` may end rows by a rule of the caller's (the particle
  search stops all the particles of a puzzle at once): given the slots' rows [S], the halting signal on
  the host [S] and the argmax tokens (backend [S, L]), it returns [S] bool, rows done after this step.
  Between two steps the consumer of the events runs first, so a hook may act on what it saw (resampling
  reads the last halting signals).
- The events carry the backend's arrays (device tensors for torch); the engine moves to the host only
  what control needs (the halting signal with ``exit_on_halt``), so a plain rollout never waits on the
  device. :class:`StepRecord` is the shared recorder of per-row answers (last, best-q, every step).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

Rows = dict[str, np.ndarray]


class Stepper(Protocol):
    """One supervision step of a model over a backend's arrays, and the few array ops the engine needs."""

    def start(self, table: dict[str, Any]) -> Any:
        """The state of len(table) slots, each loading its row of ``table`` on its first step."""

    def step(self, state: Any, table: dict[str, Any], reset: np.ndarray) -> tuple[Any, Any, Any]:
        """One supervision step: slots with ``reset`` [S] (host bool) load their row of ``table`` first.
        Returns (state, logits [S, L, V], halting signal [S])."""

    def preload(self, state: Any, table: dict[str, Any], slots: np.ndarray) -> Any:
        """The state with ``slots`` [S] (host bool) reset to their row's initial state now."""

    def select(self, state: Any, keep: np.ndarray) -> Any:
        """The state of slots ``keep`` (host int indices), in that order."""

    def to_device(self, x: np.ndarray) -> Any: ...

    def to_host(self, x: Any) -> np.ndarray: ...

    def argmax(self, logits: Any) -> Any: ...

    def write(self, x: Any, index: Any, values: Any) -> Any:
        """A copy of ``x`` with rows ``index`` set to ``values``."""


@dataclass
class StepEvent:
    """One model call of a rollout, over its S slots."""

    rows: np.ndarray  # [S] int: the row each slot holds (-1: idle)
    steps: np.ndarray  # [S] int: supervision steps that row has taken, this one included
    done: np.ndarray  # [S] bool: the row finished at this step (its last event)
    table: dict[str, Any]  # the slots' rows the step ran on (backend arrays [S, ...])
    logits: Any  # [S, L, V]
    pred: Any  # [S, L] argmax tokens
    signal: Any  # [S] halting signal (> 0: the halting head says stop)

    @property
    def active(self) -> np.ndarray:
        return self.rows >= 0


class _Feed:
    """Rows from the chunks, handed out a few at a time."""

    def __init__(self, chunks: Iterable[Rows]) -> None:
        self._it: Iterator[Rows] | None = iter(chunks)
        self._buf: Rows | None = None

    def take(self, count: int) -> Rows | None:
        while self._it is not None and (self._buf is None or _len(self._buf) < count):
            chunk = next(self._it, None)
            if chunk is None:
                self._it = None
                break
            chunk = {k: np.asarray(v) for k, v in chunk.items()}
            self._buf = (
                chunk if self._buf is None else {k: np.concatenate([self._buf[k], chunk[k]]) for k in chunk}
            )
        if self._buf is None or count == 0 or _len(self._buf) == 0:
            return None
        out = {k: v[:count] for k, v in self._buf.items()}
        self._buf = {k: v[count:] for k, v in self._buf.items()}
        return out


def _len(rows: Rows) -> int:
    return len(next(iter(rows.values())))


def _put(stepper: Stepper, table: dict[str, Any], slots: np.ndarray, rows: Rows) -> dict[str, Any]:
    """A new table with ``rows`` written into ``slots`` (the old table may still be held by the model)."""
    at = stepper.to_device(slots)
    return {k: stepper.write(v, at, stepper.to_device(np.asarray(rows[k]))) for k, v in table.items()}


def rollout(
    stepper: Stepper,
    chunks: Iterable[Rows],
    *,
    steps: int,
    slots: int | None = None,
    exit_on_halt: bool = False,
    compact: bool = True,
    pad: dict[str, int] | None = None,
    perturb: Callable[[Any, np.ndarray], Any] | None = None,
    exit_rule: Callable[[np.ndarray, np.ndarray, Any], np.ndarray] | None = None,
) -> Iterator[StepEvent]:
    """Roll every row of ``chunks`` out for ``steps`` supervision steps (see the module docstring).

    ``slots``: the batch size S (default: the first chunk's rows). ``pad``: the value of each table key
    on an idle slot (needed when ``compact`` is False and rows run out). ``exit_rule``: see "Exit rule"."""
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    feed = _Feed(chunks)
    new = feed.take(slots if slots is not None else 1 << 62)
    if new is None:
        return
    s = _len(new) if compact or slots is None else slots
    kinds = {k: (v.shape[1:], v.dtype) for k, v in new.items()}  # per-row shape and dtype of each key

    def pad_rows(count: int) -> Rows:
        if pad is None:
            raise ValueError("idle slots need pad values (rollout(..., pad={key: value}))")
        return {k: np.full((count, *shape), pad[k], dtype=dtype) for k, (shape, dtype) in kinds.items()}

    source = new if s == _len(new) else pad_rows(s)
    table = {k: stepper.to_device(np.ascontiguousarray(v)) for k, v in source.items()}
    state = stepper.start(table)
    row_of = np.full(s, -1, dtype=np.int64)  # the row each slot holds, -1 = idle
    taken = np.zeros(s, dtype=np.int64)
    free = np.arange(s)
    next_row = 0
    while True:
        count = 0 if new is None else _len(new)
        load = np.full(len(row_of), next_row == 0)  # the first call loads every slot (pad rows too)
        if count:
            dst = free[:count]
            if source is not new:  # the first full load is already in the table
                table = _put(stepper, table, dst, new)
            row_of[dst] = np.arange(next_row, next_row + count)
            taken[dst] = 0
            load[dst] = True
            next_row += count
        source = None
        idle = free[count:]
        if len(idle) and compact:
            keep = np.setdiff1d(np.arange(len(row_of)), idle)
            if len(keep) == 0:
                return
            state = stepper.select(state, keep)
            table = {k: v[stepper.to_device(keep)] for k, v in table.items()}
            row_of, taken, load = row_of[keep], taken[keep], load[keep]
        elif len(idle):
            parked = idle[row_of[idle] >= 0]  # slots that just became idle: park them on the pad row
            if len(parked):
                table = _put(stepper, table, parked, pad_rows(len(parked)))
                row_of[parked] = -1
                load[parked] = True
        active = row_of >= 0
        if not active.any():
            return
        reset = load
        if perturb is not None:
            if reset.any():
                state = stepper.preload(state, table, reset)
                reset = np.zeros_like(reset)
            state = perturb(state, row_of)
        state, logits, signal = stepper.step(state, table, reset)
        taken[active] += 1
        pred = stepper.argmax(logits)
        done = active & (taken >= steps)
        if exit_on_halt or exit_rule is not None:
            host_signal = stepper.to_host(signal)
            if exit_on_halt:
                done |= active & (host_signal > 0)
            if exit_rule is not None:
                done |= active & np.asarray(exit_rule(row_of, host_signal, pred), dtype=bool)
        yield StepEvent(
            rows=row_of.copy(), steps=taken.copy(), done=done, table=table, logits=logits, pred=pred,
            signal=signal,
        )  # fmt: skip
        free = np.flatnonzero(done | ~active)
        new = feed.take(len(free))
