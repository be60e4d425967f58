"""When a run stops, and when its target-accuracy checks are due: the rules, as plain functions of the step.

Design choices:

- The rules are checked after every optimizer step, first match wins: a signal (``interrupted``), the
  wall-clock budget (``max_minutes``), the target reached (``target_accuracy``), the plan's last step
  (``epochs`` or ``max_steps``; ``target_max_steps`` when a missed target extended it), the caller's
  ``stop_at_step``. The trainer gathers what needs every rank (signals, the clock) before asking.
- ``train.target_accuracy``: the eval split (a validation split, ``trm quickstart``) is evaluated every
  ``target_every`` steps (and at the plan's last step) from half the planned steps on, or from half of
  ``max_minutes`` when the budget's half comes first (a time-budget run plans more steps than it takes).
  A reached target stops the run at that check; a missed one lets it go on past its planned steps (at
  the final lr) up to ``target_max_steps``.
"""

from __future__ import annotations

from trm.config import TrainConfig


def over_budget(tc: TrainConfig, seconds: float) -> bool:
    """True when ``seconds`` of training have used the whole ``max_minutes`` budget (False without one)."""
    return tc.max_minutes is not None and seconds >= tc.max_minutes * 60


def target_check_due(tc: TrainConfig, step: int, total: int, seconds: float) -> bool:
    """True when the target accuracy is to be checked after ``step`` of ``total`` planned steps, at
    ``seconds`` of training."""
    if tc.target_accuracy is None:
        return False
    spent = tc.max_minutes is not None and seconds >= tc.max_minutes * 30  # half the budget
    second_half = step >= total // 2 or spent  # the plan's (or the time budget's) second half on
    return second_half and (step % tc.target_every == 0 or step == total)


def stop_reason(
    tc: TrainConfig,
    *,
    step: int,
    total: int,
    interrupted: bool,
    over_time: bool,
    fresh: dict[str, float],
    stop_at_step: int | None,
) -> str:
    """Why the run stops after ``step`` of ``total`` planned steps ("" to go on). ``fresh``: the metrics
    of an evaluation at this step, or {}. The reasons are those of ``TrainResult.stopped``."""
    if interrupted:
        return "interrupted"
    if over_time:
        return "max_minutes"
    last = total
    if tc.target_accuracy is not None:  # a reached target stops; a missed one may extend the run
        if fresh.get("exact_accuracy", 0.0) >= tc.target_accuracy:
            return "target_accuracy"
        last = max(total, tc.target_max_steps or 0)
    if step >= last:
        if last > total:
            return "target_max_steps"
        return "max_steps" if tc.max_steps is not None and total == tc.max_steps else "epochs"
    if stop_at_step is not None and step >= stop_at_step:
        return "stop_at_step"
    return ""
