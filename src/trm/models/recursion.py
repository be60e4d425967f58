"""The recursion schedule of one supervision step, written once with the paper's symbols.

    x  embedded question        y  current answer embedding      z  latent reasoning state
    n  latent updates per cycle (L_cycles)                        T  cycles per step (H_cycles)

    latent_recursion(x, y, z):  n times { z = net_z(z + y + x) };  y = net_y(y + z)
    deep_recursion(x, y, z):    T-1 cycles without gradient, then one cycle with gradient

TRM uses one network (``net_z is net_y``) and full backpropagation through the last cycle's n+1
calls. The ablations are flags over the same code, not copies:

- ``gradient="one_step"`` (HRM's one-step gradient): in the last cycle only the final z update and
  the y update carry gradient; the first n-1 z updates run without it.
- separate networks: pass two different modules as ``net_z`` and ``net_y``.
- ``single_latent``: there is no separate answer; the one state z is both. We substitute y := z in
  the schedule: n times ``z = net_z(z + x)`` then ``z = net_y(z)``, and the heads read z (the call
  count stays T(n+1)). The TRM paper's single-feature ablation (Sudoku 71.9% in its Table 2) keeps
  one feature that serves as latent and answer; how exactly its answer-update call is fed is our
  reading, documented here.

HRM's schedule is the same with ``net_z`` = the L module, ``net_y`` = the H module (z_L, z_H), T = H
cycles, n = L cycles and the one-step gradient; a later ``hrm.py`` builds the modules and reuses this.

The no-gradient cycles run under ``torch.no_grad()`` so they record no autograd graph. The caller's
grad mode is respected: in evaluation (grad disabled) every cycle runs without a graph. A step runs
inside ``step_buffers.reuse_buffers()``: its no-grad SwiGLU calls share their large CPU buffers (eager only).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from trm.models.step_buffers import reuse_buffers


@dataclass(frozen=True)
class Schedule:
    T: int  # cycles per supervision step (H_cycles)
    n: int  # latent updates per cycle (L_cycles)
    gradient: Literal["last_cycle", "one_step"] = "last_cycle"
    single_latent: bool = False

    @property
    def calls_per_step(self) -> int:
        """Network calls in one supervision step: T(n+1)."""
        return self.T * (self.n + 1)

    @property
    def calls_with_grad(self) -> int:
        """Network calls whose graph is kept for the backward pass (in training)."""
        return self.n + 1 if self.gradient == "last_cycle" else 2


def latent_recursion(
    net_z: nn.Module, net_y: nn.Module, x: Tensor, y: Tensor, z: Tensor, s: Schedule, one_step: bool = False
) -> tuple[Tensor, Tensor]:
    """One cycle: n latent updates then one answer update. x, y, z: [B, P+L, D].

    ``one_step``: run the first n-1 latent updates without gradient (HRM's one-step gradient).
    """
    for i in range(s.n):
        with torch.no_grad() if one_step and i < s.n - 1 else nullcontext():
            z = net_z(z + x) if s.single_latent else net_z(z + y + x)
    if s.single_latent:
        z = net_y(z)
        return z, z
    y = net_y(y + z)
    return y, z


def deep_recursion(
    net_z: nn.Module, net_y: nn.Module, x: Tensor, y: Tensor, z: Tensor, s: Schedule
) -> tuple[Tensor, Tensor]:
    """One supervision step: T-1 cycles without gradient, then the last cycle with it. Returns (y, z)."""
    with reuse_buffers():
        with torch.no_grad():
            for _ in range(s.T - 1):
                y, z = latent_recursion(net_z, net_y, x, y, z, s)
        return latent_recursion(net_z, net_y, x, y, z, s, one_step=s.gradient == "one_step")
