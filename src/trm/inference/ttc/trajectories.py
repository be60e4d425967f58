"""Run many trajectories of the recursion as one batch, with noise on the carried state between steps.

One row of the batch is one trajectory (a copy of a puzzle, possibly noisy). It is a rollout of the one
engine (:func:`trm.rollout.rollout`) with two things of its own: the noise, as the engine's perturbation
hook, and compaction of the rows that exit early:

    every row loaded at the model's initial state (y0, z0, steps 0)
    N times:  carry.y/z += sigma * noise (noisy rows only);  one supervision step

Design choices:

- **From outside the model.** The noise goes into the typed carry (``Carry.y``, ``Carry.z``) between
  calls; no model code changes, so TRM, HRM and converted checkpoints get it alike. With a hook the engine
  loads each row before its first step, so the first step is noisy too; a row with ``noisy`` False is
  bit-for-bit the plain pass.
- **Seeded.** Noise comes from one ``torch.Generator`` (CPU, so every device draws the same numbers),
  in row order; the same rows, chunking and seed give the same result.
- **Kept per row** (:class:`trm.rollout.StepRecord`): the answer and halting signal at the last step and
  at the step where the signal is highest (ties: the later step), the steps taken, optionally every step.
- **Early exit** (``early_exit``): the engine's ``exit_on_halt``, the mechanism of ``trm eval
  --early-halt``: a row stops after its first step with a positive halting signal; the batch is compacted
  to the rows still running, so stopped rows cost no more network calls.
- **Particles** (``particles``, :class:`~trm.inference.ttc.particles.ParticleFilter`): resampling runs
  in the perturbation hook before the noise, its stopping rule as the engine's ``exit_rule``, and it sees
  every event; with it the rows of a group must all be in this batch.
- **Calls**: a row's network calls are its steps taken x ``model.calls_per_step`` (T(n+1) for TRM and
  HRM; 1 for the direct baseline).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from trm.inference.ttc.particles import ParticleFilter
from trm.models.carry import Carry
from trm.rollout import StepModel, StepRecord, Trajectories, rollout
from trm.rollout.torch_step import TorchStepper
from trm.scoring import IGNORE_LABEL

__all__ = ["Trajectories", "run_trajectories"]


def _noise_like(x: Tensor, scale: Tensor, generator: torch.Generator) -> Tensor:
    """x + scale[row] * standard normal noise, drawn on the CPU in float32 and cast to x's dtype."""
    eps = torch.randn(x.shape, generator=generator, dtype=torch.float32)
    return x + (eps.to(x.device) * scale.view(-1, *([1] * (x.dim() - 1)))).to(x.dtype)


def run_trajectories(
    model: StepModel,
    batch: dict[str, Tensor],
    steps: int,
    *,
    noisy: Tensor | None = None,
    sigma: float = 0.0,
    noise_on: str = "z",
    noise_until: int = 0,
    early_exit: bool = False,
    generator: torch.Generator | None = None,
    record_steps: bool = False,
    particles: Callable[[TorchStepper], ParticleFilter] | None = None,
) -> Trajectories:
    """Run ``steps`` supervision steps on every row of ``batch`` (inputs [R, L], puzzle_identifiers [R]).

    Call under ``torch.inference_mode()`` and the autocast of your choice. ``noisy`` [R] bool marks the rows
    that get noise of scale ``sigma`` on ``noise_on`` ("z", "y" or "zy") before every step (with
    ``noise_until`` U > 0: before each of a row's first U steps only). ``particles``
    builds the particle filter of this batch from its stepper (particle search).
    """
    inputs = batch["inputs"]
    r, device = inputs.shape[0], inputs.device
    labels = batch.get("labels", torch.full_like(inputs, IGNORE_LABEL))
    rows = {
        "inputs": inputs.cpu().numpy(),
        "labels": labels.cpu().numpy(),
        "puzzle_identifiers": batch["puzzle_identifiers"].cpu().numpy(),
    }
    use_noise = noisy is not None and sigma > 0 and bool(noisy.any())
    if use_noise and generator is None:
        raise ValueError("noise needs a seeded torch.Generator")
    scale = (noisy.to(device).float() * sigma) if use_noise else None  # [R]

    def perturb(carry: Carry, row_of: np.ndarray) -> Carry:
        s = scale[torch.as_tensor(row_of, device=device)]
        if noise_until:  # rows past their first U steps settle without noise
            s = s * (carry.steps.to(device) < noise_until).float()
        y = _noise_like(carry.y, s, generator) if "y" in noise_on else carry.y
        z = _noise_like(carry.z, s, generator) if "z" in noise_on else carry.z
        return Carry(y=y, z=z, steps=carry.steps, halted=carry.halted, data=carry.data)

    stepper = TorchStepper(model, device)
    record = StepRecord(stepper, r, inputs.shape[1], keep_every=record_steps)
    hook = perturb if use_noise else None
    pf = particles(stepper) if particles is not None else None
    if pf is not None:

        def hook(carry: Carry, row_of: np.ndarray) -> Carry:
            carry = pf.resample(carry, row_of)
            return perturb(carry, row_of) if use_noise else carry

    for event in rollout(
        stepper, [rows], steps=steps, exit_on_halt=early_exit, perturb=hook,
        exit_rule=pf.exit_rule if pf is not None else None,
    ):  # fmt: skip
        record.update(event)
        if pf is not None:
            pf.observe(event)
    return record.result(steps)
