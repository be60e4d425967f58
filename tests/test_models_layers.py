"""Layers and blocks: widths, norms, initialisation, rotary, attention, the MLP-T mixer."""

from __future__ import annotations

import math

import pytest
import torch

from trm.config import ModelConfig
from trm.models.attention import Attention, Rotary
from trm.models.blocks import Block
from trm.models.layers import SwiGLU, rms_norm, swiglu_width, trunc_normal_


@pytest.mark.parametrize(("width", "expected"), [(512, 1536), (97, 512), (916, 2560), (64, 256)])
def test_swiglu_width_matches_the_paper(width, expected):
    assert swiglu_width(width, 4.0, 256) == expected


def test_swiglu_has_fused_gate_up_and_no_biases():
    m = SwiGLU(97, 4.0, 256)
    assert m.gate_up.weight.shape == (1024, 97) and m.down.weight.shape == (97, 512)
    assert m.gate_up.bias is None and m.down.bias is None


def test_rms_norm_unit_rms_fp32_compute_and_dtype_kept():
    torch.manual_seed(0)
    x = torch.randn(4, 7, 16) * 3 + 1
    y = rms_norm(x, 1e-5)
    torch.testing.assert_close(y.square().mean(-1), torch.ones(4, 7), rtol=1e-4, atol=1e-4)
    y1 = rms_norm(x, 1e-5, dim=1)
    torch.testing.assert_close(y1.square().mean(1), torch.ones(4, 16), rtol=1e-4, atol=1e-4)
    xb = x.bfloat16()
    yb = rms_norm(xb, 1e-5)
    assert yb.dtype == torch.bfloat16
    exact = (xb.double() / xb.double().square().mean(-1, keepdim=True).add(1e-5).sqrt()).bfloat16()
    torch.testing.assert_close(yb.float(), exact.float(), rtol=2**-8, atol=0)  # fp32 compute, one rounding


def test_truncated_normal_std_and_cut():
    torch.manual_seed(0)
    t = trunc_normal_(torch.empty(200_000), std=0.25)
    assert abs(t.std().item() - 0.25) < 0.005
    assert t.abs().max().item() <= 2 * 0.25 / 0.8796256610342398 + 1e-6


def test_linear_init_is_lecun():
    torch.manual_seed(0)
    m = SwiGLU(512, 4.0, 256)
    assert abs(m.gate_up.weight.std().item() - 1 / math.sqrt(512)) < 0.01 / math.sqrt(512) * 10
    assert abs(m.down.weight.std().item() - 1 / math.sqrt(1536)) < 0.01 / math.sqrt(1536) * 10


def test_rotary_scores_depend_only_on_relative_position():
    rot = Rotary(head_dim=8, seq_len=10, theta=10_000.0)
    torch.manual_seed(0)
    q = torch.randn(8).expand(1, 1, 10, 8)
    k = torch.randn(8).expand(1, 1, 10, 8)
    scores = (rot(q) @ rot(k).transpose(-1, -2))[0, 0]  # [10, 10]
    for offset in range(-9, 10):
        diag = torch.diagonal(scores, offset)
        torch.testing.assert_close(diag, diag[0].expand_as(diag), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(scores[0, 0], scores[0, 1])


def test_attention_is_non_causal_and_bias_free():
    torch.manual_seed(0)
    att = Attention(hidden_size=16, num_heads=4, seq_len=6, rope_theta=10_000.0)
    assert att.qkv.bias is None and att.out.bias is None and att.qkv.weight.shape == (48, 16)
    h = torch.randn(2, 6, 16)
    h2 = h.clone()
    h2[:, -1] += 1.0
    assert not torch.allclose(att(h)[:, 0], att(h2)[:, 0])  # position 0 sees the last position


def _tiny(mixer: str) -> ModelConfig:
    return ModelConfig(hidden_size=16, num_heads=4, mixer=mixer, width_multiple=8, vocab_size=5, seq_len=8)


def test_mlp_t_block_equals_the_transposed_formulation():
    torch.manual_seed(0)
    block = Block(_tiny("mlp_t"), seq_len=10)
    h = torch.randn(3, 10, 16)
    mix, mlp = block.mix.mlp, block.mlp
    t = h.transpose(1, 2)  # [B, D, L']
    t = rms_norm(t + mix(t), 1e-5)  # SwiGLU over the sequence, rms over that axis
    expected = t.transpose(1, 2)
    expected = rms_norm(expected + mlp(expected), 1e-5)
    torch.testing.assert_close(block(h), expected, rtol=1e-5, atol=1e-5)


def test_attention_block_is_post_norm():
    torch.manual_seed(0)
    block = Block(_tiny("attention"), seq_len=10)
    out = block(torch.randn(2, 10, 16) * 5)
    torch.testing.assert_close(out.square().mean(-1), torch.ones(2, 10), rtol=1e-4, atol=1e-4)
