"""TRM: the Tiny Recursive Model. One call = one supervision step on a persistent batch of slots.

    x = embed(inputs, puzzle_identifiers)                     [B, P+L, D], P = puzzle_emb_len prefix
    (y, z) = deep_recursion(x, y, z)                           T(n+1) calls of net, see recursion.py
    logits = lm_head(y)[:, P:]     q = q_head(y[:, 0])         output 0 = halt logit, 1 = continue logit

Design choices:

- One network ``net`` (``num_layers`` post-norm blocks). With ``separate_nets`` a second network
  ``net_y`` makes the y updates; ``net`` then makes only the z updates.
- y0, z0 are fixed buffers (truncated normal, std 1, shape [D]), saved with the weights and broadcast
  over positions; a slot is reset to them when it starts a new puzzle.
- lm_head is a bias-free linear layer; q_head has a bias, weight 0 and bias -5, so halting starts
  rare (sigmoid(-5) ~ 0.7%).
- Dtypes: weights stay fp32. The step runs in the caller's autocast dtype: x, y and z are cast to it
  once at the start of the step (the carry then stays in it, no round trips), every rms_norm
  computes in fp32 and casts back, and logits and q values are returned in fp32.
- ``halt_max_steps`` (N_sup) is an attribute initialised from the config; ``n_sup``,
  ``calls_per_step``, ``prefix_len``, ``puzzle_emb`` and ``initial_carry`` are the step-model protocol
  (``trm.rollout.protocol``) that evaluation, the solvers and export drive the model through.
- ``forward_q`` runs a step without gradient and returns only the q values; Q-learning uses it for
  the next state's value (one extra no-grad step per training step).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from trm.config import ModelConfig
from trm.models.blocks import Network
from trm.models.carry import Carry, StepOutput, load_new_puzzles
from trm.models.embedding import InputEmbedding
from trm.models.halting import halt_decision, q_continue_target
from trm.models.layers import linear, trunc_normal_
from trm.models.recursion import Schedule, deep_recursion


def compute_dtype(device: torch.device, default: torch.dtype) -> torch.dtype:
    """The dtype of activations: autocast's when it is on for this device, else ``default``."""
    if torch.is_autocast_enabled(device.type):
        return torch.get_autocast_dtype(device.type)
    return default


class TRM(nn.Module):
    """Tiny Recursive Model (config fields vocab_size and seq_len must be filled)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.vocab_size is None or config.seq_len is None:
            raise ValueError(
                "model.vocab_size and model.seq_len must be set (build_model fills them from a dataset)"
            )
        self.config = config
        d = config.hidden_size
        self.prefix_len = config.puzzle_emb_len  # P
        self.seq_len = config.seq_len  # L
        self.halt_max_steps = config.halt_max_steps  # N_sup
        self.schedule = Schedule(
            T=config.H_cycles, n=config.L_cycles, gradient=config.gradient, single_latent=config.single_latent
        )
        self.embed = InputEmbedding(config)
        self.net = Network(config, self.prefix_len + self.seq_len, config.num_layers)
        self.net_y = (
            Network(config, self.prefix_len + self.seq_len, config.num_layers)
            if config.separate_nets
            else None
        )
        self.lm_head = linear(d, config.vocab_size)
        self.q_head = nn.Linear(d, 2, bias=True)
        with torch.no_grad():
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5.0)
        self.register_buffer("y0", trunc_normal_(torch.empty(d), std=1.0))  # [D]
        self.register_buffer("z0", trunc_normal_(torch.empty(d), std=1.0))  # [D]

    @property
    def puzzle_emb(self) -> nn.Embedding | None:
        """The sparse puzzle-identifier embedding (sign-SGD in the trainer), or None."""
        return self.embed.puzzle

    @property
    def n_sup(self) -> int:
        """N_sup: the supervision steps the model runs by default (``trm.rollout.protocol.StepModel``)."""
        return int(self.halt_max_steps)

    @property
    def calls_per_step(self) -> int:
        """Network calls of one supervision step: T(n+1)."""
        return self.schedule.calls_per_step

    def initial_carry(self, batch: dict[str, Tensor]) -> Carry:
        """A carry with every slot halted, so the first call loads the rows of ``batch``."""
        b = batch["inputs"].shape[0]
        shape = (b, self.prefix_len + self.seq_len, self.config.hidden_size)
        device = self.y0.device
        return Carry(
            y=self.y0.expand(shape),  # placeholders (views, no memory): every slot is reset on the first call
            z=self.z0.expand(shape),
            steps=torch.zeros(b, dtype=torch.int32, device=device),
            halted=torch.ones(b, dtype=torch.bool, device=device),
            data={k: torch.zeros_like(v) for k, v in batch.items()},
        )

    def _embed(self, data: dict[str, Tensor], dtype: torch.dtype) -> Tensor:
        inputs = data["inputs"]  # [B, L]
        if inputs.dim() != 2 or inputs.shape[1] != self.seq_len:
            raise ValueError(f"inputs must be [B, {self.seq_len}], got {list(inputs.shape)}")
        return self.embed(inputs.long(), data["puzzle_identifiers"].long()).to(dtype)  # [B, P+L, D]

    def _recurse(self, x: Tensor, y: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        net_y = self.net_y if self.net_y is not None else self.net
        return deep_recursion(self.net, net_y, x, y, z, self.schedule)

    def _q(self, y: Tensor) -> Tensor:  # [B, P+L, D] -> [B, 2] float32
        return self.q_head(y[:, 0]).float()

    def forward_q(self, x: Tensor, y: Tensor, z: Tensor) -> Tensor:
        """q values [B, 2] after one more supervision step from (y, z), without gradient."""
        with torch.no_grad():
            y, _ = self._recurse(x, y, z)
            return self._q(y)

    def forward(self, carry: Carry, batch: dict[str, Tensor]) -> tuple[Carry, StepOutput]:
        """Load new puzzles into halted slots, then run one supervision step on every slot."""
        reset, data = load_new_puzzles(carry, batch)  # reset [B] bool
        dtype = compute_dtype(self.y0.device, self.y0.dtype)
        slot = reset.view(-1, 1, 1)
        y = torch.where(slot, self.y0.to(dtype), carry.y.to(dtype))  # [B, P+L, D]
        z = torch.where(slot, self.z0.to(dtype), carry.z.to(dtype))
        steps = torch.where(reset, torch.zeros_like(carry.steps), carry.steps)

        x = self._embed(data, dtype)
        y, z = self._recurse(x, y, z)
        logits = self.lm_head(y[:, self.prefix_len :]).float()  # [B, L, V]
        q = self._q(y)  # [B, 2]
        q_halt = q[:, 0]
        q_learning = self.config.halting == "q_learning"
        q_continue = q[:, 1] if q_learning else None

        steps = steps + 1
        y, z = y.detach(), z.detach()
        with torch.no_grad():
            halted = halt_decision(
                steps,
                q_halt.detach(),
                None if q_continue is None else q_continue.detach(),
                max_steps=self.halt_max_steps,
                training=self.training,
                exploration_prob=self.config.halt_exploration_prob,
            )
            target = None
            if q_learning and self.training and self.halt_max_steps > 1:
                next_q = self.forward_q(x.detach(), y, z)  # [B, 2]
                target = q_continue_target(next_q[:, 0], next_q[:, 1], steps + 1 >= self.halt_max_steps)
        new_carry = Carry(y=y, z=z, steps=steps, halted=halted, data=data)
        return new_carry, StepOutput(
            logits=logits, q_halt=q_halt, q_continue=q_continue, target_q_continue=target
        )
