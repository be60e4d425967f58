"""The PyTorch side of the rollout engine: a :class:`~trm.rollout.protocol.StepModel` as a ``Stepper``.

``step`` is the model's own call with the carry's halted flags replaced by the engine's ``reset``: the
slots to load take their row of the table (the model resets them to y0, z0 and steps 0), every other slot
continues its puzzle, whatever the model decided about halting (it marks a slot halted after N_sup
steps; the engine decides instead). This is the one place that "keeps a slot on its puzzle".

Call under ``torch.inference_mode()`` and the autocast of your choice; arrays stay on the model's device.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch import Tensor

from trm.models.carry import Carry
from trm.rollout.protocol import StepModel, halt_signal


class TorchStepper:
    """A step model on ``device``, driven by :func:`trm.rollout.engine.rollout`."""

    def __init__(self, model: StepModel, device: torch.device) -> None:
        self.model, self.device = model, torch.device(device)

    def start(self, table: dict[str, Tensor]) -> Carry:
        return self.model.initial_carry(table)

    def step(
        self, carry: Carry, table: dict[str, Tensor], reset: np.ndarray | Tensor
    ) -> tuple[Carry, Tensor, Tensor]:
        halted = torch.as_tensor(reset, device=carry.halted.device)
        carry, out = self.model(replace(carry, halted=halted), table)
        return carry, out.logits, halt_signal(out)

    def preload(self, carry: Carry, table: dict[str, Tensor], slots: np.ndarray) -> Carry:
        """Slots ``slots`` hold their row of ``table`` at the initial state (y0, z0, steps 0), not halted."""
        fresh = self.model.initial_carry(table)
        fresh = replace(fresh, halted=torch.zeros_like(fresh.halted), data=dict(table))
        if slots.all():
            return fresh
        m = torch.as_tensor(slots, device=carry.halted.device)

        def mix(new: Tensor, old: Tensor) -> Tensor:
            return torch.where(m.view(-1, *([1] * (new.dim() - 1))), new, old)

        data = {k: mix(v, carry.data[k]) for k, v in fresh.data.items()}
        return Carry(mix(fresh.y, carry.y), mix(fresh.z, carry.z), mix(fresh.steps, carry.steps),
                     fresh.halted, data)  # fmt: skip

    def select(self, carry: Carry, keep: np.ndarray) -> Carry:
        rows = torch.as_tensor(keep, device=carry.halted.device)
        return replace(
            carry,
            y=carry.y[rows],
            z=carry.z[rows],
            steps=carry.steps[rows],
            halted=carry.halted[rows],
            data={k: v[rows] for k, v in carry.data.items()},
        )

    def to_device(self, x: np.ndarray) -> Tensor:
        return torch.as_tensor(np.asarray(x), device=self.device)

    def to_host(self, x: Tensor) -> np.ndarray:
        return x.detach().cpu().numpy()

    def argmax(self, logits: Tensor) -> Tensor:
        return logits.argmax(-1)

    def write(self, x: Tensor, index: Tensor, values: Tensor) -> Tensor:
        out = x.clone()
        out[index] = values
        return out
