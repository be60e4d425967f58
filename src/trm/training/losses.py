"""Deep-supervision loss of one supervision step, and the per-step training metrics.

Design choices (the TRM paper's training recipe, arXiv 2510.04871, and its reference code):

- Cross-entropy is "stablemax" by default (TRM): s(x) = 1/(1-x) for x < 0, x+1 otherwise,
  p = s / sum(s), computed in float64. Softmax cross-entropy (float32) is the alternative.
  Both branches of s are evaluated on clamped inputs, so the unused branch never produces inf/NaN
  gradients.
- Per slot: mean over its valid tokens (label != -100); summed over the batch. Plus
  ``q_loss_weight`` * BCE-with-logits(q_halt, "the slot's whole answer is exactly right now"), summed;
  with Q-learning halting also BCE(q_continue, target_q_continue) with the same weight. The total is
  divided by the GLOBAL batch size, so an all-reduce SUM of gradients over ranks gives the global mean.
- A slot is "exactly right" when it has at least one valid token and all of them are predicted
  (:func:`trm.scoring.score_predictions`); slots with no valid token are left out of the metrics.
- Metrics are returned as one detached float32 vector of sums (order: ``STAT_NAMES``) so the trainer
  can accumulate them on the device without a host sync and reduce them only when it logs.
  Two families: ``halted_*`` over the slots that halted this step (what the papers log: the answer a
  slot ends with), and ``all_*`` over every slot with valid tokens (the answer at this step).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from trm.scoring import IGNORE_LABEL, score_predictions

# Sums accumulated per step; see `summarize_stats` for how they become logged metrics.
STAT_NAMES = (
    "loss",  # total loss (already divided by the global batch size)
    "lm_loss",  # cross-entropy part, summed over slots (not divided)
    "q_halt_loss",  # halting BCE, summed over slots
    "q_continue_loss",  # Q-learning continue BCE, summed over slots (0 without q_learning)
    "halted_count",  # slots that halted this step (with valid tokens)
    "halted_token_correct",  # sum over halted slots of their token accuracy
    "halted_exact",  # halted slots whose answer is exactly right
    "halted_q_correct",  # halted slots where (q_halt > 0) == exact
    "halted_steps",  # sum of supervision steps taken by halted slots
    "all_count",  # slots with valid tokens
    "all_token_correct",
    "all_exact",
    "all_q_correct",
    "batch_slots",  # slots in the batch (for examples/s)
)


def log_stablemax(logits: Tensor, dim: int = -1) -> Tensor:
    """log p with p = s(x) / sum s(x), s(x) = 1/(1-x) (x<0) else x+1. Computed in the input's dtype."""
    neg = logits.clamp(max=0)
    pos = logits.clamp(min=0)
    s = torch.where(logits < 0, 1.0 / (1.0 - neg), pos + 1.0)
    return torch.log(s) - torch.log(s.sum(dim=dim, keepdim=True))


def token_cross_entropy(
    logits: Tensor, labels: Tensor, kind: Literal["stablemax", "softmax"] = "stablemax"
) -> Tensor:
    """Per-token cross-entropy [B, L] (0 at ignored tokens). logits [B, L, V], labels [B, L] long.

    Stablemax is evaluated in float64 and returned in float64; softmax in float32.
    """
    valid = labels != IGNORE_LABEL  # [B, L]
    safe_labels = torch.where(valid, labels, 0).unsqueeze(-1)  # [B, L, 1]
    if kind == "stablemax":
        logp = log_stablemax(logits.to(torch.float64), dim=-1)  # [B, L, V] float64
    elif kind == "softmax":
        logp = torch.log_softmax(logits.to(torch.float32), dim=-1)  # [B, L, V]
    else:
        raise ValueError(f"unknown loss {kind!r}; expected 'stablemax' or 'softmax'")
    nll = -logp.gather(-1, safe_labels).squeeze(-1)  # [B, L]
    return torch.where(valid, nll, torch.zeros_like(nll))


def exact_and_token_accuracy(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(exact [B] bool, token accuracy [B] float32, valid count [B] long) of the argmax prediction,
    by the one rule of :mod:`trm.scoring` (a slot with no valid token is not exact, and the metrics
    below count only slots with valid tokens)."""
    exact, token_acc = score_predictions(logits.argmax(-1), labels)
    return exact, token_acc, (labels != IGNORE_LABEL).sum(-1)


def deep_supervision_loss(
    logits: Tensor,
    labels: Tensor,
    q_halt: Tensor,
    *,
    halted: Tensor,
    steps: Tensor,
    global_batch_size: int,
    kind: Literal["stablemax", "softmax"] = "stablemax",
    q_loss_weight: float = 0.5,
    q_continue: Tensor | None = None,
    target_q_continue: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Loss of one supervision step and its metric sums.

    logits [B, L, V], labels [B, L] (-100 ignored), q_halt [B], halted [B] bool and steps [B] from the
    carry returned by the model call. Returns (loss scalar float32 to backpropagate, stats
    [len(STAT_NAMES)] float32 detached).
    """
    per_token = token_cross_entropy(logits, labels, kind)  # [B, L]
    with torch.no_grad():
        exact, token_acc, count = exact_and_token_accuracy(logits, labels)
    has_tokens = count > 0  # [B]
    per_slot = per_token.sum(-1) / count.clamp_min(1).to(per_token.dtype)  # [B]
    lm_loss = per_slot.sum()
    q_halt_loss = F.binary_cross_entropy_with_logits(
        q_halt.to(torch.float32), exact.to(torch.float32), reduction="sum"
    )
    total = lm_loss.to(torch.float32) + q_loss_weight * q_halt_loss
    q_continue_loss = torch.zeros((), device=logits.device)
    if q_continue is not None:
        if target_q_continue is None:
            raise ValueError(
                "q_continue was given without target_q_continue (Q-learning needs both in training)"
            )
        q_continue_loss = F.binary_cross_entropy_with_logits(
            q_continue.to(torch.float32), target_q_continue.to(torch.float32), reduction="sum"
        )
        total = total + q_loss_weight * q_continue_loss
    loss = total / global_batch_size

    with torch.no_grad():
        q_right = (q_halt > 0) == exact  # [B]
        h = halted & has_tokens  # [B]
        f = torch.float32
        stats = torch.stack(
            [
                loss.detach().to(f),
                lm_loss.detach().to(f),
                q_halt_loss.detach().to(f),
                q_continue_loss.detach().to(f),
                h.sum().to(f),
                (token_acc * h).sum(),
                (exact & h).sum().to(f),
                (q_right & h).sum().to(f),
                (steps.to(f) * h).sum(),
                has_tokens.sum().to(f),
                (token_acc * has_tokens).sum(),
                (exact & has_tokens).sum().to(f),
                (q_right & has_tokens).sum().to(f),
                torch.tensor(float(labels.shape[0]), device=labels.device),
            ]
        )
    return loss, stats


def summarize_stats(sums: list[float], num_steps: int) -> dict[str, float]:
    """Turn summed STAT_NAMES (over ``num_steps`` steps, all ranks) into logged metrics.

    ``loss`` and the loss parts are per-step means (parts per slot); accuracies are fractions of
    slots; halted-slot metrics are omitted when no slot halted in the window.
    """
    s = dict(zip(STAT_NAMES, sums, strict=True))
    out: dict[str, float] = {"loss": s["loss"] / max(num_steps, 1)}
    if s["batch_slots"] > 0:
        out["lm_loss"] = s["lm_loss"] / s["batch_slots"]
        out["q_halt_loss"] = s["q_halt_loss"] / s["batch_slots"]
        if s["q_continue_loss"]:
            out["q_continue_loss"] = s["q_continue_loss"] / s["batch_slots"]
        out["halted_fraction"] = s["halted_count"] / s["batch_slots"]
    if s["halted_count"] > 0:
        n = s["halted_count"]
        out["token_accuracy"] = s["halted_token_correct"] / n
        out["exact_accuracy"] = s["halted_exact"] / n
        out["q_halt_accuracy"] = s["halted_q_correct"] / n
        out["steps"] = s["halted_steps"] / n
    if s["all_count"] > 0:
        n = s["all_count"]
        out["all_token_accuracy"] = s["all_token_correct"] / n
        out["all_exact_accuracy"] = s["all_exact"] / n
        out["all_q_halt_accuracy"] = s["all_q_correct"] / n
    return out
