"""A particle search's trajectories as compact JSON, for the page's particle strip (``ttc.particles``);
``noise:k=K`` trajectories go out the same way, as particles never resampled.

Design choices:

- **Capped.** At most ``Limits.max_particles_shown`` particles (the lowest indices, the chosen one always
  among them) and ``Limits.max_particle_steps_shown`` steps (evenly spaced, the first and the last always
  among them) go out, so a response stays small whatever K and N a request asks for. ``count`` and
  ``steps_total`` say how many there were.
- **Cells, not grids.** A particle's answer at a step is sent as the cells where it differs from the
  response's final ``answer`` (``[row, column, value]``; empty when it agrees); only a grid of another
  shape than the answer (an ARC model drawing another size) is sent whole, under ``grid``.
- **Lineage over the steps shown.** ``from`` is the particle (by index) that this one descends from at the
  previous step shown (its own index unless it was resampled in between; null at the first step shown),
  ``dropped`` says that it leaves no descendant at the next step shown (resampled away). Both compose the
  parents of the steps not shown (:meth:`~trm.inference.ttc.particle_trace.ParticleTrace.ancestors`).
- ``weight`` is the resampling weight (p_halt normalised over the particle's group); null for a reference
  particle, which is never resampled, and for every noise trajectory (nothing resamples them, so ``from``
  is always the particle itself and ``dropped`` false). Non-finite numbers go out as null (JSON has no
  NaN).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from trm.inference.ttc.particle_trace import ParticleTrace


def shown_steps(total: int, cap: int) -> np.ndarray:
    """0-based steps to send: all of them up to ``cap``, else ``cap`` evenly spaced, first and last kept."""
    if total <= cap:
        return np.arange(total)
    return np.unique(np.linspace(0, total - 1, max(cap, 2)).round().astype(np.int64))


def shown_particles(count: int, chosen: int, cap: int) -> np.ndarray:
    """Particle indices to send: the lowest ``cap``, the chosen one always among them."""
    ids = list(range(min(count, cap)))
    if chosen not in ids:
        ids[-1] = chosen
    return np.array(sorted(ids), dtype=np.int64)


def _number(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _cells(grid: np.ndarray, answer: np.ndarray) -> tuple[list[list[int]] | None, list[list[int]] | None]:
    """(cells differing from ``answer`` as [row, column, value], None) or (None, the whole grid)."""
    if grid.shape != answer.shape:
        return None, grid.tolist()
    where = np.argwhere(grid != answer)
    return [[int(r), int(c), int(grid[r, c])] for r, c in where], None


def particles_json(
    trace: ParticleTrace, decode, answer: np.ndarray, *, max_particles: int, max_steps: int
) -> dict[str, Any]:
    """The ``ttc.particles`` object of a response: ``decode`` maps a token row [L] to a grid, ``answer`` is
    the response's final answer grid."""
    answer = np.asarray(answer)
    steps = shown_steps(trace.steps, max_steps)
    ids = shown_particles(trace.count, trace.chosen, max_particles)
    p, w, running = trace.p_halt(), trace.weights(), trace.running()
    ancestors, dropped = trace.ancestors(steps), trace.dropped(steps)
    out_steps = []
    for i, n in enumerate(steps):
        particles = []
        for j in ids:
            cells, grid = _cells(np.asarray(decode(trace.tokens[n, j])), answer)
            particles.append(
                {
                    "id": int(j),
                    "p_halt": _number(p[n, j]),
                    "weight": _number(w[n, j]),
                    "from": int(ancestors[i, j]) if i else None,
                    "dropped": bool(dropped[i, j]),
                    "running": bool(running[n, j]),
                    "agrees": grid is None and not cells,
                    "cells": cells,
                    "grid": grid,
                }
            )
        out_steps.append({"index": int(n) + 1, "particles": particles})
    return {
        "count": trace.count,
        "chosen": trace.chosen,
        "shown": ids.tolist(),
        "reference": (trace.group[ids] < 0).tolist(),
        "steps_total": trace.steps,
        "steps": out_steps,
    }
