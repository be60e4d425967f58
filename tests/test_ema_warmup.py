"""EMA warm-up: the rate ramps as (1 + t) / (10 + t) up to the configured rate; off, the plain EMA."""

import pytest
import torch
from torch import nn

from trm.config import RunConfig
from trm.training.ema import EMA


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(3, 2)


def test_rate_ramps_up_to_the_configured_rate():
    ema = EMA(_model(), 0.99, warmup=True)
    assert ema.rate_at(1) == pytest.approx(2 / 11)
    assert ema.rate_at(80) == pytest.approx(81 / 90)
    assert ema.rate_at(10_000) == 0.99  # capped
    assert [ema.rate_at(t) for t in range(1, 50)] == sorted(ema.rate_at(t) for t in range(1, 50))
    assert EMA(_model(), 0.99).rate_at(1) == 0.99  # no warm-up: the plain rate at every step


def test_update_with_warmup_follows_the_ramp():
    model = _model()
    ema = EMA(model, 0.999, warmup=True)
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    ema.update(model, step=1)
    r = 2 / 11
    for n, p in model.named_parameters():
        torch.testing.assert_close(ema.shadow[n], r * start[n] + (1 - r) * p.detach())


def test_plain_update_ignores_the_step():
    a, b = _model(), _model()
    ema_a, ema_b = EMA(a, 0.9), EMA(b, 0.9)
    for m in (a, b):
        with torch.no_grad():
            for p in m.parameters():
                p.mul_(2.0)
    ema_a.update(a)
    ema_b.update(b, step=3)
    for n in ema_a.names:
        assert torch.equal(ema_a.shadow[n], ema_b.shadow[n])


def test_config_field_defaults_off():
    assert RunConfig().train.ema_warmup is False
    assert RunConfig.model_validate({"train": {"ema_warmup": True}}).train.ema_warmup is True
