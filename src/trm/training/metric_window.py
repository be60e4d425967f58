"""The training statistics between two log lines: summed on the device each step, read at log steps.

Design choices:

- No host sync per step: each step's statistics (``trm.training.losses.STAT_NAMES``) are added to one
  tensor on the device; a log step (every ``train.log_every`` steps) sums it over the ranks, reads it
  once and turns it into means (``summarize_stats``), then starts the next window.
- The window also counts its steps and its wall-clock seconds (for examples/s).
"""

from __future__ import annotations

import time

import torch

from trm.training import distributed as dist
from trm.training.losses import STAT_NAMES, summarize_stats


class MetricWindow:
    """Statistic sums, steps and start time of the steps since the last log line."""

    def __init__(self, device: torch.device):
        self.sums = torch.zeros(len(STAT_NAMES), device=device)
        self.steps = 0
        self.started = time.perf_counter()

    def add(self, stats: torch.Tensor) -> None:
        """One step's statistics (a ``[len(STAT_NAMES)]`` tensor on the device)."""
        self.sums += stats
        self.steps += 1

    def take(self, info: dist.DistInfo) -> tuple[dict[str, float], int, float]:
        """(the window's metrics over every rank, its steps, its seconds); the next window starts now.
        A collective in multi-process runs: every rank calls it at the same step."""
        now = time.perf_counter()
        metrics = summarize_stats(dist.all_reduce_sum(self.sums.clone(), info).tolist(), self.steps)
        taken = (metrics, self.steps, now - self.started)
        self.sums.zero_()
        self.steps, self.started = 0, now
        return taken


def bar_postfix(metrics: dict[str, float]) -> dict[str, str]:
    """What the progress bar shows of a train log record: loss, token accuracy and exact accuracy."""
    postfix = {"loss": f"{metrics['loss']:.4f}", "acc": f"{metrics.get('all_token_accuracy', 0.0):.3f}"}
    if "exact_accuracy" in metrics:
        postfix["exact"] = f"{metrics['exact_accuracy']:.3f}"
    return postfix
