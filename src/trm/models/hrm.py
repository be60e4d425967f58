"""HRM, the Hierarchical Reasoning Model (the TRM paper's baseline), as a schedule over TRM's parts.

HRM has two recurrent modules with their own states: a fast low-level module L (state z_L) and a
slow high-level module H (state z_H). One supervision step, with T = H_cycles and n = L_cycles:

    T times { n times: z_L = L(z_L + z_H + x);  then z_H = H(z_H + z_L) }
    logits = lm_head(z_H)[:, P:]      q = q_head(z_H[:, 0])       (halt, continue)

This is TRM's recursion (``recursion.py``) with ``net_z`` = L, ``net_y`` = H, z = z_L, y = z_H, so HRM
is a ``TRM`` whose two networks are separate modules of ``l_layers`` and ``h_layers`` blocks. It reuses
TRM's embedding, heads, initial states, carry handling, halting and Q-learning target unchanged.

Design choices:

- State-dict names: ``net`` is the L module, ``net_y`` the H module (``L_net``/``H_net`` are aliases),
  so checkpoints and tools written for TRM's separate-network variant read HRM too.
- HRM proper is the recipe ``hrm_sudoku`` (``hrm_maze``, ``hrm_arc``): ``gradient: one_step`` (only the
  last L update and the last H update carry gradient) and ``halting: q_learning`` (halt and continue
  logits; the continue target ``sigmoid(max(next q))`` from one extra no-grad step). The model honours
  those two switches as TRM does, so "HRM with full last-cycle backprop" is a configuration, not a copy.
- ``num_layers`` is not used (HRM counts blocks per module); ``separate_nets`` and ``single_latent`` are
  TRM switches that would contradict HRM's two modules and two states, so they are errors.
- At the HRM paper's Sudoku configuration (d=512, 8 heads, 4+4 attention blocks, vocab 11) the model
  has 27,275,266 parameters (the puzzle embedding excluded, as the papers count).
"""

from __future__ import annotations

from torch import nn

from trm.config import ModelConfig
from trm.models.blocks import Network
from trm.models.trm import TRM


class HRM(TRM):
    """Hierarchical Reasoning Model: L module ``net`` (z_L = carry.z), H module ``net_y`` (z_H = carry.y)."""

    def __init__(self, config: ModelConfig) -> None:
        if config.separate_nets:
            raise ValueError("model.separate_nets is a TRM switch; HRM always has two modules (L and H)")
        if config.single_latent:
            raise ValueError("model.single_latent is a TRM switch; HRM keeps two states (z_L and z_H)")
        # TRM builds `net` with num_layers blocks: make it the L module, then add the H module.
        super().__init__(config.model_copy(update={"num_layers": config.l_layers}))
        self.config = config  # the user's config, not the internal copy
        self.net_y = Network(config, self.prefix_len + self.seq_len, config.h_layers)

    @property
    def L_net(self) -> nn.Module:
        """The low-level (fast) module: n updates of z_L per cycle."""
        return self.net

    @property
    def H_net(self) -> nn.Module:
        """The high-level (slow) module: one update of z_H per cycle."""
        assert self.net_y is not None
        return self.net_y
