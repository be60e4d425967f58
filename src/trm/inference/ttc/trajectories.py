"""Run many trajectories of the recursion as one batch, with noise on the carried state between steps.

One row of the batch is one trajectory (a copy of a puzzle, possibly noisy). For N supervision steps:

    carry = the model's initial carry, already holding the rows (not halted, steps 0)
    N times:  carry.y/z += sigma * noise (noisy rows only);  carry, out = model(carry, rows)

Design choices:

- **From outside the model.** The noise goes into the typed carry (``Carry.y``, ``Carry.z``) between
  calls; no model code changes, so TRM, HRM and converted checkpoints get it alike. The first call starts
  from the model's own initial carry with the halted flags cleared and the rows loaded, which is exactly
  the state a halted slot is reset to, so the first step is noisy too; a row with ``noisy`` False is
  bit-for-bit the plain pass.
- **Seeded.** Noise comes from one ``torch.Generator`` (CPU, so every device draws the same numbers),
  in row order; the same rows, chunking and seed give the same result.
- **Kept per row**: the answer (argmax tokens) and halting signal at the last step and at the step where
  the signal is highest (ties: the later step), the steps taken, optionally every step (for a trace).
- **Early exit** (``early_exit``): a row stops after its first step with a positive halting signal; the
  batch is compacted to the rows still running, so stopped rows cost no more network calls.
- **Calls**: a row's network calls are its steps taken x the model's calls per step (T(n+1) for TRM and
  HRM, see ``trm.models.recursion.Schedule``; 1 for the direct baseline).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor, nn

from trm.evaluation.metrics import halt_signal

IGNORE_INDEX = -100


def calls_per_step(model: nn.Module) -> int:
    """Network calls of one supervision step of ``model``."""
    schedule = getattr(model, "schedule", None)
    return int(schedule.calls_per_step) if schedule is not None else 1


@dataclass
class Trajectories:
    """Per-row results of :func:`run_trajectories` (R rows, L cells, N steps), numpy on the CPU."""

    last: np.ndarray  # [R, L] argmax tokens after the last step taken
    last_q: np.ndarray  # [R] float32 halting signal there
    best: np.ndarray  # [R, L] argmax tokens at the step with the highest halting signal
    best_q: np.ndarray  # [R] float32 that signal
    best_step: np.ndarray  # [R] int 1-based step of ``best``
    steps: np.ndarray  # [R] int supervision steps taken
    every: np.ndarray | None = None  # [N, R, L] every step's tokens (record_steps)
    every_q: np.ndarray | None = None  # [N, R]


def _noise_like(x: Tensor, scale: Tensor, generator: torch.Generator) -> Tensor:
    """x + scale[row] * standard normal noise, drawn on the CPU in float32 and cast to x's dtype."""
    eps = torch.randn(x.shape, generator=generator, dtype=torch.float32)
    return x + (eps.to(x.device) * scale.view(-1, *([1] * (x.dim() - 1)))).to(x.dtype)


def _subset(carry, rows: Tensor):
    return replace(
        carry,
        y=carry.y[rows],
        z=carry.z[rows],
        steps=carry.steps[rows],
        halted=carry.halted[rows],
        data={k: v[rows] for k, v in carry.data.items()},
    )


def run_trajectories(
    model: nn.Module,
    batch: dict[str, Tensor],
    steps: int,
    *,
    noisy: Tensor | None = None,
    sigma: float = 0.0,
    noise_on: str = "z",
    early_exit: bool = False,
    generator: torch.Generator | None = None,
    record_steps: bool = False,
) -> Trajectories:
    """Run ``steps`` supervision steps on every row of ``batch`` (inputs [R, L], puzzle_identifiers [R]).

    Call under ``torch.inference_mode()`` and the autocast of your choice. ``noisy`` [R] bool marks the rows
    that get noise of scale ``sigma`` on ``noise_on`` ("z", "y" or "zy") before every step.
    """
    inputs = batch["inputs"]
    r, device = inputs.shape[0], inputs.device
    rows = {
        "inputs": inputs,
        "labels": batch.get("labels", torch.full_like(inputs, IGNORE_INDEX)),
        "puzzle_identifiers": batch["puzzle_identifiers"],
    }
    use_noise = noisy is not None and sigma > 0 and bool(noisy.any())
    if use_noise and generator is None:
        raise ValueError("noise needs a seeded torch.Generator")
    scale = (noisy.to(device).float() * sigma) if use_noise else None  # [R]
    carry = model.initial_carry(rows)
    carry = replace(carry, halted=torch.zeros_like(carry.halted), data=dict(rows))  # loaded, at y0/z0
    active = torch.arange(r, device=device)  # rows still running
    best_q = torch.full((r,), -torch.inf, device=device)
    best = torch.zeros_like(inputs)
    last, last_q = torch.zeros_like(inputs), torch.zeros(r, device=device)
    best_step = torch.zeros(r, dtype=torch.long, device=device)
    taken = torch.zeros(r, dtype=torch.long, device=device)
    every, every_q = [], []
    for k in range(steps):
        if use_noise:
            s = scale[active]
            if "y" in noise_on:
                carry = replace(carry, y=_noise_like(carry.y, s, generator))
            if "z" in noise_on:
                carry = replace(carry, z=_noise_like(carry.z, s, generator))
        carry = replace(carry, halted=torch.zeros_like(carry.halted))  # keep the rows past the model's N_sup
        carry, out = model(carry, carry.data)
        pred, q = out.logits.argmax(-1), halt_signal(out)  # [A, L], [A]
        last[active], last_q[active], taken[active] = pred, q, k + 1
        better = q >= best_q[active]
        upd = active[better]
        best[upd], best_q[upd], best_step[upd] = pred[better], q[better], k + 1
        if record_steps:
            every.append(last.cpu().numpy().copy())
            every_q.append(last_q.cpu().numpy().copy())
        if early_exit:
            running = q <= 0
            if not bool(running.any()):
                break
            if not bool(running.all()):
                active = active[running]
                carry = _subset(carry, running.nonzero().squeeze(1))
    while record_steps and len(every) < steps:  # rows all exited early: their answer stays
        every.append(every[-1])
        every_q.append(every_q[-1])
    return Trajectories(
        last=last.cpu().numpy(),
        last_q=last_q.float().cpu().numpy(),
        best=best.cpu().numpy(),
        best_q=best_q.float().cpu().numpy(),
        best_step=best_step.cpu().numpy(),
        steps=taken.cpu().numpy(),
        every=np.stack(every) if record_steps else None,
        every_q=np.stack(every_q) if record_steps else None,
    )
