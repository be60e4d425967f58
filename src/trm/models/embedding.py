"""Input embedding x: token embeddings behind a prefix that holds the puzzle-identifier embedding.

Layout of x for a batch of token rows [B, L]: ``[B, P + L, D]`` where the first ``P = puzzle_emb_len``
positions are the prefix. Prefix position 0 holds the puzzle-identifier embedding (width D); the
other P-1 prefix positions are zeros. The whole of x is multiplied by sqrt(D). Token embeddings are
initialised with std 1/sqrt(D), so x starts with unit-scale entries.

The puzzle-identifier embedding (one row per identifier; ~1M rows for ARC) is an
``nn.Embedding(sparse=True)``, zero-initialised, kept in float32:

- its gradient is a sparse COO tensor holding only the rows used in the batch (after
  ``grad.coalesce()`` one summed row per identifier), so the trainer's sign-SGD updates exactly those
  rows, and a 2 GB table costs no dense gradient;
- it must therefore stay out of dense optimisers (Adam) and weight-decay groups: the trainer takes
  ``model.puzzle_emb.weight`` for sign-SGD and every other parameter for Adam;
- it is not counted by ``count_parameters`` (the papers' counts exclude it).

When ``puzzle_emb`` is false the prefix still exists (all zeros) if ``puzzle_emb_len > 0``, so the
sequence length and the MLP-T width do not depend on it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from trm.config import ModelConfig
from trm.models.layers import trunc_normal_


class InputEmbedding(nn.Module):
    """(inputs [B, L] long, puzzle_identifiers [B] long) -> x [B, P+L, D] float32."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.vocab_size is None:
            raise ValueError("model.vocab_size is not set (build the model with the dataset's metadata)")
        d = config.hidden_size
        self.prefix_len = config.puzzle_emb_len
        self.scale = math.sqrt(d)
        self.tokens = nn.Embedding(config.vocab_size, d)
        trunc_normal_(self.tokens.weight, std=1.0 / self.scale)
        self.puzzle: nn.Embedding | None = None
        if config.puzzle_emb:
            if self.prefix_len == 0:
                raise ValueError(
                    "model.puzzle_emb needs model.puzzle_emb_len >= 1 (the embedding sits at position 0)"
                )
            rows = config.num_puzzle_identifiers or 1
            self.puzzle = nn.Embedding(rows, d, sparse=True)
            nn.init.zeros_(self.puzzle.weight)

    def forward(self, inputs: Tensor, puzzle_identifiers: Tensor) -> Tensor:
        tokens = self.tokens(inputs)  # [B, L, D]
        if self.prefix_len == 0:
            return tokens * self.scale
        b, _, d = tokens.shape
        parts = []
        if self.puzzle is not None:
            parts.append(self.puzzle(puzzle_identifiers).unsqueeze(1))  # [B, 1, D] at position 0
        zeros = self.prefix_len - len(parts)
        if zeros:
            parts.append(tokens.new_zeros(b, zeros, d))
        parts.append(tokens)
        return torch.cat(parts, dim=1) * self.scale  # [B, P+L, D]
