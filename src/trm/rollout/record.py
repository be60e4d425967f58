"""What a rollout keeps of each row: the answer at its last step, at its highest-signal step, and (for a
trace) after every step. Written once for the solvers and test-time compute, over the stepper's arrays.

- ``last`` / ``last_q``: the argmax tokens and halting signal after the last step the row took;
- ``best`` / ``best_q`` / ``best_step``: at the step whose halting signal is highest (ties: the later
  step), the answer test-time compute's ``at=best`` reads;
- ``steps``: the supervision steps the row took;
- ``every`` / ``every_q`` (``keep_every``): after each step, every row's latest answer, so a row that
  stopped early keeps showing its last answer; [N, R, L] and [N, R] on the host.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trm.rollout.engine import StepEvent, Stepper


@dataclass
class Trajectories:
    """Per-row results of a rollout (R rows, L cells, N steps), NumPy on the host."""

    last: np.ndarray  # [R, L] argmax tokens after the last step taken
    last_q: np.ndarray  # [R] float32 halting signal there
    best: np.ndarray  # [R, L] argmax tokens at the step with the highest halting signal
    best_q: np.ndarray  # [R] float32 that signal
    best_step: np.ndarray  # [R] int 1-based step of ``best``
    steps: np.ndarray  # [R] int supervision steps taken
    every: np.ndarray | None = None  # [N, R, L] every step's tokens (keep_every)
    every_q: np.ndarray | None = None  # [N, R]


class StepRecord:
    """Fed every :class:`StepEvent` of a rollout of ``rows`` rows of ``length`` cells."""

    def __init__(self, stepper: Stepper, rows: int, length: int, *, keep_every: bool = False) -> None:
        dev = stepper.to_device
        self._stepper = stepper
        self.last = dev(np.zeros((rows, length), dtype=np.int64))
        self.last_q = dev(np.zeros(rows, dtype=np.float32))
        self.best = dev(np.zeros((rows, length), dtype=np.int64))
        self.best_q = dev(np.full(rows, -np.inf, dtype=np.float32))
        self.best_step = dev(np.zeros(rows, dtype=np.int64))
        self.steps = dev(np.zeros(rows, dtype=np.int64))
        self.keep_every = keep_every
        self._every: list[np.ndarray] = []
        self._every_q: list[np.ndarray] = []

    def update(self, event: StepEvent) -> None:
        active = event.active
        pred, q = event.pred, event.signal
        if not active.all():  # idle slots: never read
            slots = self._stepper.to_device(np.flatnonzero(active))
            pred, q = pred[slots], q[slots]
        rows = self._stepper.to_device(event.rows[active])
        self.last[rows], self.last_q[rows] = pred, q
        self.steps[rows] = self._stepper.to_device(event.steps[active])
        better = q >= self.best_q[rows]
        upd = rows[better]
        self.best[upd], self.best_q[upd] = pred[better], q[better]
        self.best_step[upd] = self._stepper.to_device(event.steps[active])[better]
        if self.keep_every:
            self._every.append(self._stepper.to_host(self.last).copy())
            self._every_q.append(self._stepper.to_host(self.last_q).copy())

    def result(self, steps: int) -> Trajectories:
        """The per-row results; ``steps`` is the rollout's N (a trace that stopped early is padded to it)."""
        host = self._stepper.to_host
        every = every_q = None
        if self.keep_every and self._every:
            while len(self._every) < steps:  # every row exited early: its answer stays
                self._every.append(self._every[-1])
                self._every_q.append(self._every_q[-1])
            every, every_q = np.stack(self._every), np.stack(self._every_q)
        return Trajectories(
            last=host(self.last),
            last_q=host(self.last_q).astype(np.float32),
            best=host(self.best),
            best_q=host(self.best_q).astype(np.float32),
            best_step=host(self.best_step),
            steps=host(self.steps),
            every=every,
            every_q=every_q,
        )
