"""The persistent batch of slots (the "carry") and the output of one supervision step.

The trainer owns the deep-supervision loop: it keeps one ``Carry`` for the whole run and calls the
model once per optimizer step. A slot whose ``halted`` flag is set takes a new puzzle from the next
batch, with fresh initial states y0, z0 and ``steps = 0``; the others keep their puzzle and state.

``to_dict``/``from_dict`` give a plain dict of tensors, so the carry can go into a checkpoint that is
loaded with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Carry:
    """One supervision step's persistent state for a batch of B slots (P = prefix, L = cells)."""

    y: Tensor  # [B, P+L, D] answer embedding (paper y; reference z_H)
    z: Tensor  # [B, P+L, D] latent reasoning state (paper z; reference z_L)
    steps: Tensor  # [B] int32 supervision steps taken on the slot's current puzzle
    halted: Tensor  # [B] bool: finished; the next call loads a new puzzle into the slot
    data: dict[
        str, Tensor
    ]  # the slot's current puzzle: inputs [B, L], labels [B, L], puzzle_identifiers [B], ...

    @property
    def batch_size(self) -> int:
        return int(self.steps.shape[0])

    def to(self, device: torch.device | str) -> Carry:
        return Carry(
            y=self.y.to(device),
            z=self.z.to(device),
            steps=self.steps.to(device),
            halted=self.halted.to(device),
            data={k: v.to(device) for k, v in self.data.items()},
        )

    def to_dict(self) -> dict[str, Tensor]:
        out = {"y": self.y, "z": self.z, "steps": self.steps, "halted": self.halted}
        out.update({f"data.{k}": v for k, v in self.data.items()})
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Tensor]) -> Carry:
        missing = sorted({"y", "z", "steps", "halted"} - set(d))
        if missing:
            raise ValueError(f"carry state is missing {missing}")
        data = {k[len("data.") :]: v for k, v in d.items() if k.startswith("data.")}
        return cls(y=d["y"], z=d["z"], steps=d["steps"], halted=d["halted"], data=data)


def load_new_puzzles(carry: Carry, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
    """The slots that take a new puzzle (``carry.halted`` [B] bool) and every slot's data after loading:
    halted slots take their rows of ``batch``, the others keep their current puzzle."""
    reset = carry.halted  # [B] bool
    data = {}
    for key, old in carry.data.items():
        if key not in batch:
            known = sorted(carry.data)
            raise KeyError(f"batch has no {key!r} (the carry was made from a batch with keys {known})")
        data[key] = torch.where(reset.view(-1, *([1] * (old.dim() - 1))), batch[key], old)
    return reset, data


@dataclass
class StepOutput:
    """What one supervision step produces for the loss and the evaluator."""

    logits: Tensor  # [B, L, V] float32 (prefix positions dropped)
    q_halt: Tensor  # [B] float32 halting logit (halt when > 0, or when > q_continue with Q-learning)
    q_continue: Tensor | None = None  # [B] float32, only with halting == "q_learning"
    target_q_continue: Tensor | None = None  # [B] Q-learning target (no grad), training + q_learning only
