"""FLOP estimate of a training step, checked against PyTorch's own FLOP counter on tiny models."""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from trm.config import ModelConfig
from trm.models import build_model, flops_per_step

CASES = [
    ("trm", "attention", "last_cycle", "single"),
    ("trm", "mlp_t", "last_cycle", "single"),
    ("trm", "attention", "one_step", "q_learning"),
    ("trm", "mlp_t", "one_step", "q_learning"),
    ("hrm", "attention", "one_step", "q_learning"),
    ("hrm", "mlp_t", "last_cycle", "single"),
    ("direct", "attention", "last_cycle", "single"),
]


@pytest.mark.parametrize(("arch", "mixer", "gradient", "halting"), CASES)
def test_flops_per_step_matches_the_measured_matmul_flops(arch, mixer, gradient, halting):
    cfg = ModelConfig(
        arch=arch, hidden_size=16, num_heads=4, mixer=mixer, H_cycles=2, L_cycles=3, gradient=gradient,
        halting=halting, l_layers=1, h_layers=3, halt_max_steps=1 if arch == "direct" else 4,
        puzzle_emb_len=4, width_multiple=8, vocab_size=7, seq_len=12, num_puzzle_identifiers=3,
    )  # fmt: skip
    torch.manual_seed(0)
    model = build_model(cfg).train()
    batch = {
        "inputs": torch.randint(0, 7, (3, 12)),
        "labels": torch.randint(0, 7, (3, 12)),
        "puzzle_identifiers": torch.randint(0, 3, (3,)),
    }
    carry = model.initial_carry(batch)
    counter = FlopCounterMode(display=False)
    with counter, sdpa_kernel(SDPBackend.MATH):  # the math path shows attention as matmuls
        _, out = model(carry, batch)
        loss = out.logits.square().sum() + out.q_halt.sum()
        if out.q_continue is not None:
            loss = loss + out.q_continue.sum()
        loss.backward()
    assert flops_per_step(cfg, 3) == counter.get_total_flops()
