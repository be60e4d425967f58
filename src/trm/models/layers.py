"""Building blocks shared by TRM and HRM: initialisation, normalisation, SwiGLU (attention: ``attention.py``).

Design choices:

- ``rms_norm`` has no learnable scale (the papers' post-norm blocks have none); it is computed in
  float32 and cast back to the input dtype, so a bf16 residual stream is normalised accurately.
- Linear layers have no biases and are initialised with a truncated LeCun normal: samples of a
  standard normal cut at +-2, rescaled so that the *resulting* standard deviation is exactly
  ``1/sqrt(fan_in)`` (as JAX/Flax's ``lecun_normal`` does; ``nn.init.trunc_normal_`` alone would give
  a std about 12% smaller).
- SwiGLU keeps gate and up projections fused in one ``[in -> 2*inter]`` parameter;
  ``inter = round_up(round(expansion * in * 2/3), width_multiple)``.
- Weights stay fp32; the caller's autocast decides the matmul dtype.

``rms_norm`` and ``swiglu`` below are the plain definitions. ``@fast_path`` lets ``kernels.choose``
run a fused kernel with the same result instead (``kernels.py`` says which and why).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from trm.models.kernels import fast_path

# Standard deviation of a standard normal truncated to [-2, 2].
_TRUNC2_STD = 0.8796256610342398


def trunc_normal_(tensor: Tensor, std: float) -> Tensor:
    """Fill ``tensor`` with a normal cut at 2 standard deviations whose final std is ``std``."""
    with torch.no_grad():
        nn.init.trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0)
        return tensor.mul_(std / _TRUNC2_STD)


def init_linear(layer: nn.Linear) -> nn.Linear:
    """Truncated LeCun normal: std = 1/sqrt(fan_in)."""
    trunc_normal_(layer.weight, std=1.0 / math.sqrt(layer.in_features))
    return layer


def linear(in_features: int, out_features: int) -> nn.Linear:
    """A bias-free linear layer with the papers' initialisation."""
    return init_linear(nn.Linear(in_features, out_features, bias=False))


@fast_path
def rms_norm(x: Tensor, eps: float, dim: int = -1) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over ``dim``, computed in float32, returned in x's dtype."""
    x32 = x.to(torch.promote_types(x.dtype, torch.float32))  # float64 stays float64
    return (x32 * torch.rsqrt(x32.square().mean(dim, keepdim=True) + eps)).to(x.dtype)


def swiglu_width(in_features: int, expansion: float, multiple: int) -> int:
    """Hidden width of a SwiGLU: round(expansion * in * 2/3) rounded up to a multiple of ``multiple``."""
    width = round(expansion * in_features * 2 / 3)
    return -(-width // multiple) * multiple


@fast_path
def swiglu(x: Tensor, w_gate_up: Tensor, w_down: Tensor, residual: bool = False) -> Tensor:
    """``down(silu(gate(x)) * up(x))`` (+ x if ``residual``) over the last axis of x [..., in]."""
    gate, up = F.linear(x, w_gate_up).chunk(2, dim=-1)  # [..., inter] each
    out = F.linear(F.silu(gate) * up, w_down)  # [..., out]
    return x + out if residual else out


class SwiGLU(nn.Module):
    """down(silu(gate(x)) * up(x)) over the last axis, gate and up in one parameter."""

    def __init__(self, in_features: int, expansion: float, width_multiple: int) -> None:
        super().__init__()
        self.inter = swiglu_width(in_features, expansion, width_multiple)
        self.gate_up = linear(in_features, 2 * self.inter)
        self.down = linear(self.inter, in_features)

    def forward(self, x: Tensor, residual: bool = False) -> Tensor:  # [..., in] -> [..., in]
        """The SwiGLU of x, or ``x + SwiGLU(x)`` with ``residual``."""
        return swiglu(x, self.gate_up.weight, self.down.weight, residual)
