"""Per-example scores and the halting statistics of one evaluation, as pure functions.

Design choices:

- **What counts** is :mod:`trm.scoring`'s rule (re-exported here as :func:`score_predictions`): an
  example is *exactly right* when it has scored cells and every one is right; its *token accuracy* is
  the fraction of its scored cells that are right, and the split's token accuracy is the mean of that
  over examples (as the reference reports it). Examples with no scored cell are left out of every
  accuracy and halting statistic (the caller passes only the scored ones).
- **Halting is read, not obeyed.** The papers' protocol runs every example for all N supervision steps;
  :func:`halting_stats` then reads off what the learned halting head *would* have done (stop at the first
  step with ``q_halt > 0``), from the same run, so the two numbers are comparable.
- **The halting signal** is ``q_halt`` for TRM's single logit and ``q_halt - q_continue`` for
  Q-learning halting (:func:`trm.rollout.halt_signal`); "the head fires" means the signal is > 0.
- Everything here takes arrays of already-collected per-step results; no model, no device.
"""

from __future__ import annotations

import numpy as np

from trm.scoring import score_predictions

__all__ = ["first_halt_step", "halting_stats", "score_predictions", "task_metric_means"]


def first_halt_step(q_halt: np.ndarray) -> np.ndarray:
    """q_halt [E, N] float -> [E] int, the 1-based first step with q_halt > 0, or N when it never is
    (an example whose head never fires runs to the step limit)."""
    fired = q_halt > 0  # [E, N]
    n = q_halt.shape[1]
    return np.where(fired.any(axis=1), fired.argmax(axis=1) + 1, n).astype(np.int64)


def halting_stats(correct: np.ndarray, q_halt: np.ndarray) -> dict[str, float]:
    """Halting statistics of a full run.

    correct [E, N] bool (exact match after each step), q_halt [E, N] float (halting logit after each step).
    Returns ``halt_rate_step_k`` (fraction with q_halt > 0 after step k), ``halt_accuracy`` (at the final
    step, q_halt > 0 agrees with being right), ``never_halted`` (fraction whose head never fires), and
    the early-halting estimate: ``early_halt_exact_accuracy`` (each example stops at its first q_halt > 0),
    ``early_halt_mean_steps`` and ``early_halt_calls_saved`` (fraction of network calls saved vs N steps).
    """
    e, n = correct.shape
    if q_halt.shape != (e, n):
        raise ValueError(f"correct {correct.shape} and q_halt {q_halt.shape} must have the same shape [E, N]")
    if e == 0:
        return {}
    fired = q_halt > 0  # [E, N]
    stats = {f"halt_rate_step_{k + 1}": float(fired[:, k].mean()) for k in range(n)}
    stats["halt_accuracy"] = float((fired[:, -1] == correct[:, -1]).mean())
    stats["never_halted"] = float((~fired.any(axis=1)).mean())
    stop = first_halt_step(q_halt)  # [E] 1-based
    stats["early_halt_exact_accuracy"] = float(correct[np.arange(e), stop - 1].mean())
    stats["early_halt_mean_steps"] = float(stop.mean())
    stats["early_halt_calls_saved"] = float(1.0 - stop.mean() / n)
    return stats


def task_metric_means(per_example: dict[str, np.ndarray], num_examples: int) -> dict[str, float]:
    """A task codec's per-example metrics (name -> bool/float [E]) -> their means."""
    out = {}
    for name, values in per_example.items():
        values = np.asarray(values)
        if values.shape != (num_examples,):
            raise ValueError(f"task metric {name!r} has shape {values.shape}, expected ({num_examples},)")
        out[name] = float(values.astype(np.float64).mean()) if num_examples else float("nan")
    return out
