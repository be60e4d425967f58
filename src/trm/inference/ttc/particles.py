"""Particle search (sequential Monte Carlo) over recursion trajectories, guided by the halting head.

After Probabilistic TRM (arXiv 2605.19943: Gaussian noise on the latent, parallel trajectories, the Q
head as the judge) and guided stochastic exploration (arXiv 2605.25230: the Q head reweights particles
online). A puzzle's K rows form one *group*; the rollout engine runs them in lockstep and this module
adds, through the engine's hooks (no loop of its own):

    before every supervision step (the engine's ``perturb`` hook):
        resample the group's particles with weights w_j = sigmoid(q_j), q = the last halting signal
        (``resample=q``: every ``every`` steps; ``ess``: only when ESS = 1 / sum(w_n^2) < m / 2)
        then add Gaussian noise of scale sigma to the latent (the caller's noise)
    after every step (the engine's ``exit_rule``): a group's resampled particles stop when their mean
    halting probability reaches ``conf`` (``stop=q``; ``agree`` also needs one answer from all of them)

Design choices:

- **Noise at each supervision step.** The step model exposes one supervision step (T(n+1) network calls
  inside), not its inner recursion steps, so noise and resampling act between supervision steps.
- **Particle 0 is the reference** (``first=1``): never noisy, never resampled, never an ancestor and
  never stopped early, so it is the plain pass, bit for bit, and selections and diagnostics compare
  against it in the same run. The resampled particles are 1..K-1 (all K with ``first=0``, as the gated
  second stage runs).
- **Systematic resampling** (one uniform per group): particle j gets floor or ceil of m * w_j children,
  the lowest-variance of the usual schemes; seeded by the spec's seed through a NumPy generator.
- Resampling copies the carried state (y, z, step count) between slots of one group with
  ``Stepper.select``; the slots of a group hold the same puzzle, so the table rows need no change.
- **Ancestry is kept** (``ancestry``): for each step before which a resampling ran, every row's ancestor
  row, so a trace can show which particles were resampled away (``trm serve``'s particle strip).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trm.inference.ttc.select import halt_probability
from trm.rollout import StepEvent, Stepper


def normalized_weights(q: np.ndarray) -> np.ndarray:
    """q [G, m] halting signals -> weights sigmoid(q) normalised per group (float64, rows sum to 1)."""
    w = halt_probability(q)
    return w / w.sum(axis=-1, keepdims=True)


def effective_sample_size(weights: np.ndarray) -> np.ndarray:
    """[G, m] normalised weights -> [G] ESS = 1 / sum(w^2), between 1 and m."""
    return 1.0 / np.square(weights).sum(axis=-1)


def resample_indices(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling: [G, m] normalised weights -> [G, m] ancestor indices (sorted per group)."""
    g, m = weights.shape
    cdf = np.cumsum(weights, axis=-1)
    cdf[:, -1] = 1.0  # no index past the end from rounding
    u = (rng.random((g, 1)) + np.arange(m)) / m
    return np.stack([np.searchsorted(cdf[i], u[i], side="right") for i in range(g)]).clip(0, m - 1)


class ParticleFilter:
    """The resampling and stopping of groups of ``group`` rows (rows r*group .. r*group+group-1).

    Feed it every event (``observe``); pass ``resample`` as (part of) the engine's ``perturb`` and
    ``exit_rule`` as its ``exit_rule``. ``first`` particles of each group are references (see the module
    docstring)."""

    def __init__(
        self,
        stepper: Stepper,
        rows: int,
        group: int,
        *,
        first: int = 1,
        resample: str = "ess",
        every: int = 1,
        stop: str = "q",
        conf: float = 0.5,
        rng: np.random.Generator,
    ) -> None:
        if rows % group:
            raise ValueError(f"{rows} rows do not split into groups of {group}")
        self.stepper, self.group, self.first = stepper, group, first
        self.mode, self.every, self.stop, self.conf, self.rng = resample, every, stop, conf, rng
        self.signal = np.zeros(rows, dtype=np.float64)  # the last halting signal of each row
        self.taken = np.zeros(rows, dtype=np.int64)
        self.resamples = 0  # groups resampled, over the whole run
        # steps taken before a resampling -> [rows] the row whose state each row continued (itself if none)
        self.ancestry: dict[int, np.ndarray] = {}

    def observe(self, event: StepEvent) -> None:
        active = event.active
        rows = event.rows[active]
        self.signal[rows] = self.stepper.to_host(event.signal)[active]
        self.taken[rows] = event.steps[active]

    def resample(self, state: Any, row_of: np.ndarray) -> Any:
        """Before a step: the state with each due group's particles resampled (copied from ancestors)."""
        m = self.group - self.first
        active = np.flatnonzero(row_of >= 0)
        if self.mode == "none" or m < 2 or len(active) == 0:
            return state
        rows = row_of[active]
        done = self.taken[rows]
        if done.max() == 0 or done.max() % self.every:  # groups run in lockstep: one step count
            return state
        slot_of = np.full(len(self.signal), -1, dtype=np.int64)
        slot_of[rows] = active
        groups = np.unique(rows // self.group)
        members = groups[:, None] * self.group + self.first + np.arange(m)  # [G, m] rows
        slots = slot_of[members]
        whole = (slots >= 0).all(axis=1)  # a group is present whole (its particles stop together)
        members, slots = members[whole], slots[whole]
        weights = normalized_weights(self.signal[members])
        due = np.ones(len(members), dtype=bool)
        if self.mode == "ess":
            due = effective_sample_size(weights) < m / 2
        if not due.any():
            return state
        ancestors = resample_indices(weights[due], self.rng)  # [G', m] indices into the group's particles
        src = np.arange(len(row_of))
        src[slots[due]] = np.take_along_axis(slots[due], ancestors, axis=1)
        self.resamples += int(due.sum())
        parent = np.arange(len(self.signal))
        parent[members[due]] = np.take_along_axis(members[due], ancestors, axis=1)
        self.ancestry[int(done.max())] = parent
        return self.stepper.select(state, src)

    def exit_rule(self, row_of: np.ndarray, signal: np.ndarray, pred: Any) -> np.ndarray:
        """After a step: [S] bool, the slots whose group stops now (all its particles at once)."""
        out = np.zeros(len(row_of), dtype=bool)
        if self.stop == "none":
            return out
        active = np.flatnonzero((row_of >= 0) & (row_of % self.group >= self.first))  # references run on
        if len(active) == 0:
            return out
        group_of = row_of[active] // self.group
        groups, inverse = np.unique(group_of, return_inverse=True)
        p = halt_probability(signal[active])
        mean = np.bincount(inverse, weights=p) / np.bincount(inverse)
        stop = mean >= self.conf
        if self.stop == "agree" and stop.any():
            tokens = self.stepper.to_host(pred)[active]
            for i in np.flatnonzero(stop):
                mine = tokens[inverse == i]
                stop[i] = bool((mine == mine[0]).all())
        out[active] = stop[inverse]
        return out
