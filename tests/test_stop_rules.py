"""The stop rules as functions of the step (the trainer's own runs: tests/test_training_loop.py)."""

from __future__ import annotations

from trm.config import TrainConfig
from trm.training.stop_rules import over_budget, stop_reason, target_check_due


def _reason(tc: TrainConfig, step: int, total: int = 20, **kw) -> str:
    args = dict(interrupted=False, over_time=False, fresh={}, stop_at_step=None)
    args.update(kw)
    return stop_reason(tc, step=step, total=total, **args)


def test_target_checks_run_every_target_every_steps_from_half_the_plan_and_at_its_end():
    tc = TrainConfig(max_steps=21, target_accuracy=0.8, target_every=4)
    due = [s for s in range(1, 30) if target_check_due(tc, s, 21, seconds=0.0)]
    assert due == [12, 16, 20, 21, 24, 28]  # from step 10 (21 // 2) on; 21 is the plan's last step
    assert not any(target_check_due(TrainConfig(max_steps=21), s, 21, 0.0) for s in range(1, 30))


def test_target_checks_start_at_half_the_time_budget_when_it_comes_first():
    tc = TrainConfig(max_minutes=10, target_accuracy=0.8, target_every=4)
    assert not target_check_due(tc, 8, 600, seconds=299.0)
    assert target_check_due(tc, 8, 600, seconds=300.0)  # half of 10 minutes
    assert not target_check_due(tc, 9, 600, seconds=300.0)  # not a multiple of target_every
    assert over_budget(tc, 600.0) and not over_budget(tc, 599.9)
    assert not over_budget(TrainConfig(), 1e9)


def test_a_reached_target_stops_and_a_missed_one_extends_the_plan_to_target_max_steps():
    tc = TrainConfig(max_steps=20, target_accuracy=0.8, target_max_steps=32)
    assert _reason(tc, 16, fresh={"exact_accuracy": 0.8}) == "target_accuracy"
    assert _reason(tc, 20, fresh={"exact_accuracy": 0.5}) == ""  # past the plan, the target missed
    assert _reason(tc, 31) == ""
    assert _reason(tc, 32) == "target_max_steps"
    assert _reason(TrainConfig(max_steps=20, target_accuracy=0.8), 20) == "max_steps"  # no extension


def test_the_plan_ends_by_its_own_rule_and_signals_and_budgets_come_first():
    assert _reason(TrainConfig(max_steps=20), 20) == "max_steps"
    assert _reason(TrainConfig(), 20) == "epochs"  # the plan came from epochs (total != max_steps)
    assert _reason(TrainConfig(max_steps=20), 5, stop_at_step=5) == "stop_at_step"
    assert _reason(TrainConfig(max_steps=20), 4, stop_at_step=5) == ""
    tc = TrainConfig(max_steps=20, target_accuracy=0.8)
    reached = {"exact_accuracy": 1.0}
    assert _reason(tc, 20, interrupted=True, over_time=True, fresh=reached) == "interrupted"
    assert _reason(tc, 20, over_time=True, fresh=reached) == "max_minutes"
    assert _reason(tc, 20, fresh=reached, stop_at_step=20) == "target_accuracy"
