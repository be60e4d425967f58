"""The recursion's network ``net``: a stack of post-norm blocks with an attention or MLP-T token mixer.

A block is ``h = rms(h + mix(h)); h = rms(h + swiglu(h))`` (post-norm, no learnable scales).

- ``attention``: non-causal self-attention with rotary positions; its rms is over channels.
- ``mlp_t`` (TRM's "MLP token mixer"): a SwiGLU across the sequence axis, the same for every
  channel, of width ``L' = seq_len + puzzle_emb_len``: transpose to ``[B, D, L']``, SwiGLU over the
  last axis, transpose back; the residual rms is then over the sequence axis (axis 1 of
  ``[B, L', D]``). Applying the SwiGLU to the transposed view (one contiguous copy, then large
  ``[B*D, L'] x [L', I]`` matmuls) measured faster forward+backward on CPU than multiplying the
  weights from the left on ``[B, L', D]`` (batched small matmuls). It has no positional encoding: the
  weights see positions directly. The mixer returns ``h + mix(h)`` in that transposed memory order
  (the residual is accumulated by the down-projection), so the rms over positions reduces along
  contiguous memory; the channel SwiGLU then makes one contiguous copy for its own matmuls. (At batch 1
  without gradient the SwiGLU kernel multiplies from the left instead and returns [B, L', D] order:
  ``kernels.py``.)

The network takes the already summed input (``z + y + x`` or ``y + z``); the recursion schedule in
``recursion.py`` decides what is summed. HRM's modules are the same class with more blocks.
"""

from __future__ import annotations

from torch import Tensor, nn

from trm.config import ModelConfig
from trm.models.attention import Attention
from trm.models.layers import SwiGLU, rms_norm


class SequenceMixer(nn.Module):
    """MLP-T: one SwiGLU over the sequence axis, shared by all channels."""

    def __init__(self, seq_len: int, expansion: float, width_multiple: int) -> None:
        super().__init__()
        self.mlp = SwiGLU(seq_len, expansion, width_multiple)

    def forward(self, h: Tensor, residual: bool = False) -> Tensor:  # [B, L', D] -> [B, L', D]
        """The mix of h, or ``h + mix(h)`` with ``residual`` (then in [B, D, L'] memory order)."""
        return self.mlp(h.transpose(1, 2), residual).transpose(1, 2)  # SwiGLU over positions, per channel


class Block(nn.Module):
    """One post-norm block: token mixing then a channel SwiGLU."""

    def __init__(self, config: ModelConfig, seq_len: int) -> None:
        super().__init__()
        self.eps = config.rms_eps
        self.mix: nn.Module
        if config.mixer == "attention":
            self.mix = Attention(config.hidden_size, config.num_heads, seq_len, config.rope_theta)
            self.mix_norm_dim = -1  # over channels
        elif config.mixer == "mlp_t":
            self.mix = SequenceMixer(seq_len, config.expansion, config.width_multiple)
            self.mix_norm_dim = 1  # over positions, as the transposed formulation does
        else:
            raise ValueError(f"unknown mixer {config.mixer!r}")
        self.mlp = SwiGLU(config.hidden_size, config.expansion, config.width_multiple)

    def forward(self, h: Tensor) -> Tensor:  # [B, L', D] -> [B, L', D]
        h = rms_norm(self.mix(h, residual=True), self.eps, dim=self.mix_norm_dim)
        return rms_norm(self.mlp(h, residual=True), self.eps)


class Network(nn.Module):
    """``net``: ``num_layers`` blocks applied in order to the summed input."""

    def __init__(self, config: ModelConfig, seq_len: int, num_layers: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(config, seq_len) for _ in range(num_layers))

    def forward(self, h: Tensor) -> Tensor:  # [B, L', D] -> [B, L', D]
        for block in self.blocks:
            h = block(h)
        return h
