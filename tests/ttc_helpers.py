"""The tiny model and puzzles the test-time compute tests share."""

from __future__ import annotations

import numpy as np
import torch

from trm.config import ModelConfig
from trm.data.sudoku import generate, to_tokens
from trm.models import build_model


def tiny_model(n_sup: int):
    """An untrained MLP-T TRM for 6x6 Sudoku whose q head varies with the state (random weights, no bias), so
    the halting signal, and the weights particles get from it, differ between trajectories."""
    cfg = ModelConfig(
        hidden_size=16, num_heads=2, mixer="mlp_t", H_cycles=2, L_cycles=1, halt_max_steps=n_sup,
        puzzle_emb_len=2, width_multiple=16, vocab_size=8, seq_len=36, num_puzzle_identifiers=1,
    )  # fmt: skip
    torch.manual_seed(0)
    m = build_model(cfg).eval()
    with torch.no_grad():
        m.q_head.weight.normal_(0, 1.0)
        m.q_head.bias.zero_()
    return m


def sudoku_tokens(count: int = 4, seed: int = 5) -> np.ndarray:
    """Token rows [count, 36] of generated 6x6 puzzles."""
    return np.stack([to_tokens(g.puzzle).reshape(-1) for g in generate(6, count=count, seed=seed)])
