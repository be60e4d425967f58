"""What a model costs: parameters (as the papers count them) and FLOPs of one training step.

``count_parameters`` excludes the puzzle-identifier embedding (the papers' 5M/7M figures do) and the
fixed buffers y0, z0 (they are not parameters).

``flops_per_step`` counts matrix-multiply FLOPs (2 per multiply-add) of one training supervision
step for a batch: the network calls of the no-gradient cycles once (forward only), the calls that
keep a graph and the heads three times (forward + backward of activations and weights), attention
scores and values included; plus one more forward-only step with Q-learning. HRM's L and H modules
(``l_layers``/``h_layers`` blocks) and the direct baseline (one pass) are counted by the same rule;
the test checks the estimate against ``torch.utils.flop_counter`` exactly. Element-wise work
(norms, activations, rotary) is left out, as usual for such estimates. Benchmarks divide it by the
step time to report GFLOP/s.
"""

from __future__ import annotations

from torch import nn

from trm.config import ModelConfig, RunConfig
from trm.models.layers import swiglu_width


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters, excluding the sparse puzzle-identifier embedding."""
    puzzle = model.puzzle_emb  # the step-model protocol's declared attribute (trm.rollout.protocol)
    skip = {id(p) for p in puzzle.parameters()} if puzzle is not None else set()
    return sum(p.numel() for p in model.parameters() if id(p) not in skip)


def network_flops(config: ModelConfig, num_layers: int | None = None) -> float:
    """Forward matmul FLOPs of one call of a ``num_layers``-block network for ONE example."""
    d, seq = config.hidden_size, config.puzzle_emb_len + _filled(config).seq_len
    inter = swiglu_width(d, config.expansion, config.width_multiple)
    channel_mlp = 2 * seq * d * 3 * inter  # gate_up [d -> 2I] and down [I -> d]
    if config.mixer == "attention":
        mix = 2 * seq * d * 3 * d + 2 * seq * d * d + 2 * 2 * seq * seq * d  # qkv, out, QK^T and AV
    else:
        token_inter = swiglu_width(seq, config.expansion, config.width_multiple)
        mix = 2 * d * 3 * seq * token_inter
    return float((num_layers or config.num_layers) * (mix + channel_mlp))


def flops_per_step(config: ModelConfig | RunConfig, batch: int) -> float:
    """Estimated forward+backward matmul FLOPs of one training supervision step on ``batch`` slots."""
    m = _filled(config.model if isinstance(config, RunConfig) else config)
    q_head = 2 * m.hidden_size * (1 if m.arch == "direct" else 2)  # direct.py has only the halt logit
    heads = 2 * m.seq_len * m.hidden_size * m.vocab_size + q_head
    if m.arch == "direct":  # one pass of num_layers blocks, with gradient
        return float(batch * 3 * (network_flops(m) + heads))
    T, n = m.H_cycles, m.L_cycles
    # z updates (HRM: the L module) and y updates (HRM: the H module) may have different depths.
    z_call, y_call = (
        (network_flops(m, m.l_layers), network_flops(m, m.h_layers))
        if m.arch == "hrm"
        else (network_flops(m),) * 2
    )
    z_grad = n if m.gradient == "last_cycle" else 1  # calls that keep a graph; the y update always does
    forward_only = (T * n - z_grad) * z_call + (T - 1) * y_call
    total = forward_only + 3 * (z_grad * z_call + y_call + heads)
    if m.halting == "q_learning":
        total += T * n * z_call + T * y_call + q_head  # the no-grad step for the next state's q values
    return float(batch * total)


def _filled(m: ModelConfig) -> ModelConfig:
    if m.seq_len is None or m.vocab_size is None:
        raise ValueError("model.seq_len and model.vocab_size must be set to estimate FLOPs")
    return m
