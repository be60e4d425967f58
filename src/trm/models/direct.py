"""Direct prediction: the papers' non-recursive baseline, one transformer pass from question to answer.

    x = embed(inputs, puzzle_identifiers)          [B, P+L, D]
    h = net(x)                                     num_layers blocks (paper: 8 attention blocks, 27M)
    logits = lm_head(h)[:, P:]    q_halt = q_head(h[:, 0])

Design choices:

- Same parts as TRM (``InputEmbedding``, ``Network`` of post-norm blocks, bias-free ``lm_head``) and
  the same call contract (``initial_carry``, ``model(carry, batch) -> (Carry, StepOutput)``), so the
  trainer, evaluator and checkpoints need no special case.
- No recursion and no deep supervision: every call is ONE pass of ``net`` that ignores the carried
  state, and every slot halts after it (``halt_max_steps`` must be 1), so the next call loads a new
  puzzle into every slot. The carry's ``y`` holds the last hidden state (``z`` is the same tensor);
  they are kept only so the carry has the agreed shape.
- A halting head still exists (weight 0, bias -5 as in TRM) and is trained by the usual BCE on "the
  answer is exactly right": it never decides anything here, but gives the evaluator and ARC voting a
  confidence. It adds 2(D+1) parameters.
- The recursion switches (``gradient``, ``halting="q_learning"``, ``separate_nets``, ``single_latent``)
  have no meaning without recursion and are errors; ``H_cycles``/``L_cycles`` are not used.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from trm.config import ModelConfig
from trm.models.blocks import Network
from trm.models.carry import Carry, StepOutput, load_new_puzzles
from trm.models.embedding import InputEmbedding
from trm.models.layers import linear
from trm.models.trm import compute_dtype


def _check(config: ModelConfig) -> None:
    if config.vocab_size is None or config.seq_len is None:
        raise ValueError(
            "model.vocab_size and model.seq_len must be set (build_model fills them from a dataset)"
        )
    if config.halt_max_steps != 1:
        raise ValueError(
            f"model.arch=direct predicts in one pass: set model.halt_max_steps=1 not {config.halt_max_steps}"
        )
    bad = {
        "gradient": config.gradient != "last_cycle",
        "halting": config.halting != "single",
        "separate_nets": config.separate_nets,
        "single_latent": config.single_latent,
    }
    named = [k for k, on in bad.items() if on]
    if named:
        raise ValueError(
            f"model.arch=direct has no recursion; these switches do not apply: {', '.join(named)}"
        )


class DirectPredictor(nn.Module):
    """A transformer (or MLP-T) of ``num_layers`` blocks that predicts the answer in one pass."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        _check(config)
        self.config = config
        d = config.hidden_size
        self.prefix_len = config.puzzle_emb_len  # P
        self.seq_len = config.seq_len  # L
        self.halt_max_steps = 1  # N_sup: no deep supervision
        self.embed = InputEmbedding(config)
        self.net = Network(config, self.prefix_len + self.seq_len, config.num_layers)
        self.lm_head = linear(d, config.vocab_size)
        self.q_head = nn.Linear(d, 1, bias=True)
        with torch.no_grad():
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5.0)

    @property
    def puzzle_emb(self) -> nn.Embedding | None:
        """The sparse puzzle-identifier embedding (sign-SGD in the trainer), or None."""
        return self.embed.puzzle

    @property
    def n_sup(self) -> int:
        """N_sup = 1: one step, no deep supervision (``trm.rollout.protocol.StepModel``)."""
        return int(self.halt_max_steps)

    @property
    def calls_per_step(self) -> int:
        """One pass of ``net`` per step."""
        return 1

    def initial_carry(self, batch: dict[str, Tensor]) -> Carry:
        """A carry with every slot halted, so the first call loads the rows of ``batch``."""
        b = batch["inputs"].shape[0]
        device = self.lm_head.weight.device
        state = torch.zeros(1, 1, 1, device=device).expand(
            b, self.prefix_len + self.seq_len, self.config.hidden_size
        )
        return Carry(
            y=state,  # a placeholder view: the state is never read
            z=state,
            steps=torch.zeros(b, dtype=torch.int32, device=device),
            halted=torch.ones(b, dtype=torch.bool, device=device),
            data={k: torch.zeros_like(v) for k, v in batch.items()},
        )

    def forward(self, carry: Carry, batch: dict[str, Tensor]) -> tuple[Carry, StepOutput]:
        """Load new puzzles into halted slots, then one pass of ``net``; every slot halts."""
        reset, data = load_new_puzzles(carry, batch)  # reset [B] bool
        inputs = data["inputs"]  # [B, L]
        if inputs.dim() != 2 or inputs.shape[1] != self.seq_len:
            raise ValueError(f"inputs must be [B, {self.seq_len}], got {list(inputs.shape)}")
        dtype = compute_dtype(self.lm_head.weight.device, self.lm_head.weight.dtype)
        x = self.embed(inputs.long(), data["puzzle_identifiers"].long()).to(dtype)  # [B, P+L, D]
        h = self.net(x)  # [B, P+L, D]
        logits = self.lm_head(h[:, self.prefix_len :]).float()  # [B, L, V]
        q_halt = self.q_head(h[:, 0]).float().squeeze(-1)  # [B]
        steps = torch.where(reset, torch.zeros_like(carry.steps), carry.steps) + 1
        halted = torch.ones_like(reset)  # one pass, no deep supervision
        state = h.detach()
        new_carry = Carry(y=state, z=state, steps=steps, halted=halted, data=data)
        return new_carry, StepOutput(logits=logits, q_halt=q_halt)
