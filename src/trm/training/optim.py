"""Optimizers and the learning-rate schedule, pure PyTorch (any device, no fused extension).

Design choices (the TRM paper's training recipe, arXiv 2510.04871, and its reference code):

- ``AdamAtan2``: Adam with the division replaced by atan2, so there is no epsilon:
  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  m_hat = m / (1-b1^t);  v_hat = v / (1-b2^t);
  w <- w (1 - lr wd)   (decoupled weight decay, applied first);
  w <- w - lr atan2(m_hat, sqrt(v_hat)).
  The update of every coordinate is bounded by lr * pi/2.
- ``SignSGD`` for the sparse puzzle-identifier embedding: for the rows present in the batch only,
  w <- w (1 - lr wd) - lr sign(g). Rows are given explicitly (dense gradients) or read from a sparse
  gradient. Duplicate ids are harmless: every copy computes the same new row from the same old row,
  and no ``unique`` is needed (which would force a device sync).
- ``lr_factor``: linear warm-up over ``warmup`` steps, then cosine from 1 to ``min_ratio`` over the
  remaining steps (ratio 1.0 = constant). Step s counts optimizer steps from 1 (the step being
  taken), so the first step uses lr/warmup and step ``total`` ends at lr * min_ratio.
  An optional ``progress`` (0..1, e.g. the spent fraction of a wall-clock budget) replaces the
  step-based cosine progress when larger: a time-budgeted run still finishes its cosine.
- Both optimizers take their lr from the schedule each step (``set_lr``); the factor is computed on
  the host, so setting it costs no device sync.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor

from trm.config import TrainConfig


class AdamAtan2(torch.optim.Optimizer):
    """Adam-atan2 with bias-corrected moments and decoupled weight decay (no epsilon)."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.95),
        weight_decay: float = 0.0,
    ):
        if lr < 0 or weight_decay < 0:
            raise ValueError(f"lr={lr} and weight_decay={weight_decay} must be >= 0")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas={betas} must lie in [0, 1)")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102  (torch.optim.Optimizer interface)
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(
                        "AdamAtan2 does not take sparse gradients (use SignSGD for embeddings)"
                    )
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.lerp_(g, 1.0 - b1)  # m = b1 m + (1-b1) g
                v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
                if wd:
                    p.mul_(1.0 - lr * wd)
                m_hat = m / (1.0 - b1**t)
                v_hat = v / (1.0 - b2**t)
                p.add_(torch.atan2(m_hat, v_hat.sqrt()), alpha=-lr)
        return loss


class SignSGD(torch.optim.Optimizer):
    """Sign-SGD with decoupled weight decay, applied only to embedding rows present in the batch.

    Parameters are row-indexed tables [num_rows, ...]. Call ``step(rows)`` with the identifiers
    [B] long used in the forward pass (duplicates allowed); a sparse gradient supplies its own rows.
    """

    def __init__(
        self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-4, weight_decay: float = 0.0
    ):
        if lr < 0 or weight_decay < 0:
            raise ValueError(f"lr={lr} and weight_decay={weight_decay} must be >= 0")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, rows: Tensor | None = None):  # type: ignore[override]
        for group in self.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    g = p.grad.coalesce()
                    idx, g_rows = g.indices()[0], g.values()  # [R], [R, ...]
                else:
                    if rows is None:
                        raise ValueError("SignSGD.step needs the batch's row ids for a dense gradient")
                    idx = rows.to(device=p.device, dtype=torch.long)  # [B]
                    g_rows = p.grad.index_select(0, idx)  # [B, ...]
                w_rows = p.index_select(0, idx)  # [B, ...]
                new_rows = w_rows * (1.0 - lr * wd) - lr * torch.sign(g_rows)
                p.index_copy_(0, idx, new_rows.to(p.dtype))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def lr_factor(
    step: int, *, warmup: int, total: int, min_ratio: float = 1.0, progress: float | None = None
) -> float:
    """Multiplier of the base lr at optimizer step ``step`` (1-based). See the module docstring."""
    if step < warmup:
        return step / warmup
    frac = (step - warmup) / max(1, total - warmup)
    if progress is not None:
        frac = max(frac, progress)
    frac = min(max(frac, 0.0), 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * frac))


def total_steps(epochs: int, examples_per_epoch: int, global_batch_size: int, max_steps: int | None) -> int:
    """Optimizer steps of a run: epochs * examples_per_epoch / global batch (floor, as the papers count:
    Sudoku 50,000 x 1,000 / 768 = 65,104), or ``max_steps`` if smaller; at least 1."""
    steps = max(1, (epochs * examples_per_epoch) // global_batch_size)
    return min(steps, max_steps) if max_steps is not None else steps


def build_optimizers(
    model: torch.nn.Module, tc: TrainConfig
) -> tuple[torch.optim.Optimizer, SignSGD | None, list[Tensor], list[Tensor]]:
    """(weights optimizer, puzzle-embedding sign-SGD or None, dense params, embedding params).

    ``model.puzzle_emb`` (None or a module) holds the sparse identifier embedding; everything else
    goes to Adam-atan2 (or AdamW when ``train.optimizer=adamw``).
    """
    emb = getattr(model, "puzzle_emb", None)
    emb_params = [p for p in emb.parameters() if p.requires_grad] if emb is not None else []
    emb_ids = {id(p) for p in emb_params}
    dense = [p for p in model.parameters() if p.requires_grad and id(p) not in emb_ids]
    betas = (tc.beta1, tc.beta2)
    if tc.optimizer == "adam_atan2":
        opt: torch.optim.Optimizer = AdamAtan2(dense, lr=tc.lr, betas=betas, weight_decay=tc.weight_decay)
    elif tc.optimizer == "adamw":
        opt = torch.optim.AdamW(dense, lr=tc.lr, betas=betas, weight_decay=tc.weight_decay)
    else:
        raise ValueError(f"unknown optimizer {tc.optimizer!r}")
    sparse = None
    if emb_params:
        sparse = SignSGD(emb_params, lr=tc.puzzle_emb_lr, weight_decay=tc.puzzle_emb_weight_decay)
    return opt, sparse, dense, emb_params
