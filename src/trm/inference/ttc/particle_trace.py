"""The particles of one puzzle's search, step by step: what ``trm solve --trace`` summarises and
``trm serve`` draws.

A particle search (``smc:...``, :mod:`.particles`) runs K particles; after every supervision step each
has an answer and a halting signal, and before a step some particles may be resampled: they drop their
own state and continue another particle's (their *parent*). :class:`ParticleTrace` holds this for one
puzzle, for the particles that ran (a gate's placeholders are left out, as in ``TTCSolution.candidates``).
``noise:k=K`` runs K trajectories the same way, never resampled: its trace has the same form, every
parent the particle itself and no weights (``resampled`` False; see :func:`has_particles`):

    tokens [N, K, L]   each particle's answer after each step (a particle that stopped keeps its last)
    q      [N, K]      its halting signal there; p_halt = sigmoid(q)
    parent [N, K]      the particle whose state particle k carried into step n + 1 (itself unless resampled)
    group  [K]         its resampling group, -1 for a reference particle (never resampled: the plain
                       pass, and gate=agree's noisy probe)

Design choices:

- **Weights are the resampling weights**: p_halt normalised over the non-reference particles of a group
  (what :func:`trm.inference.ttc.particles.normalized_weights` resamples by); a reference has none (NaN),
  and neither has a noise trajectory (nothing resamples by them: a uniform weight would suggest it did).
- **Noise trajectories as particles**: groups are the copies (``augment``), trajectory 0 of each (the
  noise-free one) its reference, as for ``smc`` without a gate; the lineage is each particle's own.
- **Lineage over any subset of steps** (:meth:`ParticleTrace.ancestors`): the parents of the steps in
  between are composed, so a view that shows every fourth step still says, for each particle shown,
  which particle it descends from at the previous step shown, and which particles left no descendant
  (*resampled away*).
- Pure NumPy, in the token space of the model: decoding to grids is the caller's (the server decodes
  only the particles and steps it sends).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from trm.inference.ttc.select import halt_probability


@dataclass
class ParticleTrace:
    """One puzzle's particles (K) over the rollout's N supervision steps (see the module docstring)."""

    tokens: np.ndarray  # [N, K, L]
    q: np.ndarray  # [N, K] halting signal after each step
    parent: np.ndarray  # [N, K] int
    taken: np.ndarray  # [K] supervision steps each particle ran
    group: np.ndarray  # [K] int, -1 for a reference particle
    chosen: int  # the particle whose answer was chosen
    resampled: bool = True  # False: independent noise trajectories (no resampling, no weights)

    @property
    def steps(self) -> int:
        return self.tokens.shape[0]

    @property
    def count(self) -> int:
        return self.tokens.shape[1]

    def p_halt(self) -> np.ndarray:
        """[N, K] sigmoid of the halting signal."""
        return halt_probability(self.q)

    def weights(self) -> np.ndarray:
        """[N, K] resampling weights: p_halt normalised per group at each step; NaN for references and for
        every particle of a trace that was never resampled."""
        p = self.p_halt()
        out = np.full(p.shape, np.nan)
        if not self.resampled:
            return out
        for g in np.unique(self.group[self.group >= 0]):
            mine = self.group == g
            out[:, mine] = p[:, mine] / p[:, mine].sum(axis=1, keepdims=True)
        return out

    def running(self) -> np.ndarray:
        """[N, K] bool: particle k ran step n + 1 (it had not stopped)."""
        return np.arange(self.steps)[:, None] < self.taken[None, :]

    def agrees(self, answer: np.ndarray | None = None) -> np.ndarray:
        """[N, K] bool: the particle's answer equals ``answer`` [L] tokens (default: the chosen's last)."""
        if answer is None:
            answer = self.tokens[-1, self.chosen]
        return (self.tokens == np.asarray(answer)[None, None, :]).all(axis=-1)

    def ancestors(self, shown: np.ndarray) -> np.ndarray:
        """For 0-based steps ``shown`` (increasing): [len(shown), K] int, the particle at the previous shown
        step that each particle descends from (row 0: itself)."""
        shown = np.asarray(shown, dtype=np.int64)
        out = np.tile(np.arange(self.count), (len(shown), 1))
        for i in range(1, len(shown)):
            a = np.arange(self.count)
            for n in range(shown[i], shown[i - 1], -1):  # compose the parents of the steps in between
                a = self.parent[n, a]
            out[i] = a
        return out

    def dropped(self, shown: np.ndarray) -> np.ndarray:
        """[len(shown), K] bool: at shown step i the particle leaves no descendant at shown step i + 1
        (it was resampled away); the last shown step drops none."""
        anc = self.ancestors(shown)
        out = np.zeros(anc.shape, dtype=bool)
        for i in range(len(shown) - 1):
            out[i] = ~np.isin(np.arange(self.count), anc[i + 1])
        return out


def has_particles(spec) -> bool:
    """Whether a spec's solution keeps a :class:`ParticleTrace`: a particle search, or several noise
    trajectories per copy (an ``augment``-only or ``steps``-only spec has none)."""
    return bool(spec.smc or spec.noise_k > 1)


def trace_from_candidates(cands, puzzle: int, ran: np.ndarray, chosen: int) -> ParticleTrace:
    """The :class:`ParticleTrace` of puzzle ``puzzle`` of a :class:`~trm.inference.ttc.engine.Candidates`
    run with ``record_steps`` (a particle search, or noise trajectories), keeping candidates ``ran`` [K]
    bool; ``chosen`` is a candidate index (among all K)."""
    spec = cands.spec
    if not has_particles(spec) or cands.every is None or (spec.smc and cands.parent is None):
        raise ValueError("a particle trace needs a particle search (smc) or noise:k>1 run with record_steps")
    keep = np.flatnonzero(ran)
    k = cands.every.shape[2]
    position = np.full(k, -1, dtype=np.int64)
    position[keep] = np.arange(len(keep))
    every_parent = cands.parent
    if every_parent is None:  # noise: never resampled, each trajectory continues itself
        every_parent = np.broadcast_to(np.arange(k), cands.every.shape[:3])
    parent = position[every_parent[:, puzzle][:, keep]]
    if (parent < 0).any():
        raise ValueError("a particle that ran descends from one that did not")
    c = np.arange(k)
    if spec.gate != "none":  # the plain pass (and the probe) first, then the searched particles' waves
        first = 1 if spec.gate == "q" else 2
        group = np.where(c < first, -1, (c - first) // (spec.wave or k))
    else:  # one group of noise_k particles per copy, its particle 0 (noise-free) the reference
        m = spec.noise_k
        group = np.where(c % m == 0, -1, c // m)
    return ParticleTrace(
        tokens=cands.every[:, puzzle][:, keep],
        q=cands.every_q[:, puzzle][:, keep].astype(np.float64),
        parent=parent,
        taken=cands.steps[puzzle, keep].astype(np.int64),
        group=group[keep],
        chosen=int(position[chosen]),
        resampled=spec.smc,
    )


def step_summary(trace: ParticleTrace, steps: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Per 0-based step of ``steps`` (increasing; default all): the 1-based ``step``, how many particles
    give the final answer (``agree``) and still run (``running``), for a particle search how many leave no
    descendant at the next step given (``resampled_away``), and ``p_halt`` of the chosen particle and the
    min / median / max over all (rounded to 3 places; null where not finite)."""
    shown = np.arange(trace.steps) if steps is None else np.asarray(steps, dtype=np.int64)
    agree, running, p = trace.agrees(), trace.running(), trace.p_halt()
    dropped = trace.dropped(shown)

    def number(x: float) -> float | None:
        return round(float(x), 3) if np.isfinite(x) else None

    out = []
    for i, n in enumerate(shown):
        row: dict[str, Any] = {
            "step": int(n) + 1,
            "agree": int(agree[n].sum()),
            "running": int(running[n].sum()),
        }
        if trace.resampled:
            row["resampled_away"] = int(dropped[i].sum())
        stats = (p[n, trace.chosen], p[n].min(), np.median(p[n]), p[n].max())
        row["p_halt"] = dict(zip(("chosen", "min", "median", "max"), map(number, stats), strict=True))
        out.append(row)
    return out


def summary_lines(trace: ParticleTrace, *, show: int = 8) -> list[str]:
    """One line per step for ``trm solve --trace`` (:func:`step_summary`): how many particles give the final
    answer, how many still run, how many were resampled away before the next step (a particle search
    only), and each particle's p_halt (the chosen one marked *) when there are at most ``show`` particles,
    else their min / median / max."""
    k, p = trace.count, trace.p_halt()
    references = int((trace.group < 0).sum())
    if trace.resampled:
        head = f"particles: {k} (chosen: {trace.chosen}; {references} reference, never resampled)"
        columns = "still running, resampled away before the next step"
    else:
        head = (
            f"particles: {k} noise trajectories, never resampled (chosen: {trace.chosen}; "
            f"{references} noise-free)"
        )
        columns = "still running"
    lines = [head, f"per step: particles giving the final answer, {columns}; p_halt"]
    for row in step_summary(trace):
        n = row["step"] - 1
        if k <= show:
            ps = " ".join(f"{p[n, j]:.2f}{'*' if j == trace.chosen else ''}" for j in range(k))
        else:
            ps = f"min {p[n].min():.2f} median {np.median(p[n]):.2f} max {p[n].max():.2f}"
        away = f", {row['resampled_away']} resampled away" if trace.resampled else ""
        lines.append(
            f"  step {row['step']:>2}: {row['agree']}/{k} agree, {row['running']} running{away}; p_halt {ps}"
        )
    return lines
