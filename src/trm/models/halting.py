"""Adaptive halting: when a slot stops refining its puzzle, and the Q-learning target.

- A slot always halts after N_sup supervision steps. Outside training that is the only rule, so
  evaluation runs every puzzle for exactly N_sup steps (the evaluator may halt early on q itself).
- In training it also halts when the halting head says so: ``q_halt > 0`` (TRM's single logit, the
  probability that the current answer is right is above 1/2) or, with ``halting="q_learning"``
  (HRM's ACT), ``q_halt > q_continue``.
- Exploration: each step, with probability ``exploration_prob`` a slot draws a minimum step count
  uniformly from [2, N_sup]; it cannot halt on its q values before reaching it. Randomness comes
  from torch's global RNG on the tensors' device, so the trainer can save and restore it.
- Q-learning target for the continue logit: the value of continuing is the value of the next
  state, ``sigmoid(max(next q_halt, next q_continue))``; when the next step is the last one allowed
  the next state can only halt, so its value is ``sigmoid(next q_halt)``. (The HRM reference applies
  that boundary rule one step earlier, to the current step; ours is the Bellman reading.)
"""

from __future__ import annotations

import torch
from torch import Tensor


def halt_decision(
    steps: Tensor,
    q_halt: Tensor,
    q_continue: Tensor | None,
    *,
    max_steps: int,
    training: bool,
    exploration_prob: float,
) -> Tensor:
    """Which slots halt after this step. steps [B] int (already counting this step), q [B] -> [B] bool."""
    halted = steps >= max_steps
    if not training or max_steps <= 1:
        return halted
    wants = q_halt > q_continue if q_continue is not None else q_halt > 0
    if exploration_prob > 0:
        explore = torch.rand(steps.shape, device=steps.device) < exploration_prob
        min_steps = torch.randint(2, max_steps + 1, steps.shape, device=steps.device, dtype=steps.dtype)
        wants = wants & (steps >= torch.where(explore, min_steps, torch.zeros_like(min_steps)))
    return halted | wants


def q_continue_target(next_q_halt: Tensor, next_q_continue: Tensor, next_is_last: Tensor) -> Tensor:
    """sigmoid of the next state's value: [B] float32, no gradient."""
    value = torch.where(next_is_last, next_q_halt, torch.maximum(next_q_halt, next_q_continue))
    return torch.sigmoid(value.float()).detach()
