"""The ablation benchmark's variants: each differs from the base only by its switches, and each model
shows the property that defines it; the benchmark runs end to end at a tiny scale, caches and resumes."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from trm.models import build_model
from trm.models.attention import Attention
from trm.models.direct import DirectPredictor
from trm.models.hrm import HRM
from trm.models.trm import TRM
from trm.training.losses import token_cross_entropy


def _load_benchmark():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "ablations.py"
    spec = importlib.util.spec_from_file_location("trm_benchmark_ablations", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


ab = _load_benchmark()
TINY = {"model.hidden_size": 16, "model.num_heads": 2, "model.width_multiple": 16}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return ab.ensure_data(
        tmp_path_factory.mktemp("abl"), ab.DataSpec(train_puzzles=12, test_puzzles=6, num_aug=1)
    )


def config_of(name: str, data: Path, tmp: Path, **extra):
    return ab.variant_config(
        name, data=data, out_dir=tmp / name, seed=0, steps=2, minutes=None, extra={**TINY, **extra}
    )


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


@pytest.mark.parametrize("name", list(ab.VARIANTS))
def test_a_variant_differs_from_the_base_only_by_its_switches(name, data, tmp_path):
    base = _flatten(config_of("trm", data, tmp_path).model_dump(mode="json"))
    mine = _flatten(config_of(name, data, tmp_path).model_dump(mode="json"))
    changed = {k for k in base if base[k] != mine[k]} - {"name", "out_dir"}
    assert changed == {k for k, v in ab.VARIANTS[name].overrides.items() if base[k] != v}
    assert (name == "trm") == (not changed)


def _log_calls(model) -> list[tuple[str, bool, bool]]:
    """(network, grad enabled, output records a graph) for every call of the model's networks."""
    log: list[tuple[str, bool, bool]] = []
    for attr in ("net", "net_y"):
        net = getattr(model, attr, None)
        if net is not None:
            net.register_forward_hook(
                lambda m, a, out, attr=attr: log.append((attr, torch.is_grad_enabled(), out.requires_grad))
            )
    return log


def _step(model, seed: int = 0, b: int = 3):
    """One training supervision step on a random batch; returns (log of network calls, batch, carry, out)."""
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    batch = {
        "inputs": torch.randint(1, cfg.vocab_size, (b, cfg.seq_len), generator=g),
        "labels": torch.randint(2, cfg.vocab_size, (b, cfg.seq_len), generator=g),
        "puzzle_identifiers": torch.zeros(b, dtype=torch.long),
    }
    log = _log_calls(model)
    model.train()
    carry, out = model(model.initial_carry(batch), batch)
    return log, batch, carry, out


def _graph_pattern(log) -> list[bool]:
    return [r for _, _, r in log]


def check_trm(model, config):
    assert type(model) is TRM and model.net_y is None and len(model.net.blocks) == 2
    log, *_ = _step(model)
    assert _graph_pattern(log) == [False] * 3 + [True] * 3  # T=2, n=2: full backprop through the last cycle
    assert config.train.ema and config.train.loss == "stablemax"


def check_q_learning(model, config):
    log, batch, carry, out = _step(model)
    assert out.q_continue is not None and out.target_q_continue is not None
    assert len(log) == 2 * 6 and not any(r for _, _, r in log[6:])  # + one no-grad step for the target
    with torch.no_grad():  # the target is the value of the NEXT step from the returned state
        _, nxt = model(replace(carry, halted=torch.zeros_like(carry.halted)), batch)
    torch.testing.assert_close(
        out.target_q_continue, torch.sigmoid(torch.maximum(nxt.q_halt, nxt.q_continue))
    )


def check_separate_nets(model, config):
    ids_z = {id(p) for p in model.net.parameters()}
    ids_y = {id(p) for p in model.net_y.parameters()}
    assert ids_z.isdisjoint(ids_y) and len(ids_z) == len(ids_y)  # two parameter sets of the same shape
    log, *_ = _step(model)
    assert [n for n, _, _ in log] == ["net", "net", "net_y"] * 2


def check_single_latent(model, config):
    log, _, carry, out = _step(model)
    assert len(log) == 6 and torch.equal(carry.y, carry.z)


def check_no_ema(model, config):
    assert not config.train.ema  # the end-to-end test checks that no EMA weights are written


def check_more_layers(model, config):
    assert len(model.net.blocks) == 4 and config.model.L_cycles == 1
    log, *_ = _step(model)
    assert len(log) == 2 * (1 + 1)


def check_attention(model, config):
    assert all(isinstance(block.mix, Attention) for block in model.net.blocks)


def check_less_recursion(model, config):
    log, *_ = _step(model)
    assert _graph_pattern(log) == [True, True]  # T=1, n=1: two calls, both with gradient


def check_one_step(model, config):
    log, *_ = _step(model)
    assert _graph_pattern(log) == [False] * 4 + [True] * 2  # no graph through the earlier z updates


def check_softmax(model, config):
    assert config.train.loss == "softmax"
    logits, labels = torch.randn(2, 5, 7), torch.randint(0, 7, (2, 5))
    expected = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction="none").view(2, 5)
    torch.testing.assert_close(token_cross_entropy(logits, labels, "softmax"), expected)
    assert not torch.allclose(token_cross_entropy(logits, labels, "stablemax").float(), expected)


def check_hrm(model, config):
    assert isinstance(model, HRM) and len(model.L_net.blocks) == 4 and len(model.H_net.blocks) == 4
    assert not config.train.ema
    log, _, _, out = _step(model)
    assert [n for n, _, _ in log[:6]] == ["net", "net", "net_y"] * 2
    assert _graph_pattern(log[:6]) == [False] * 4 + [True] * 2 and out.target_q_continue is not None


def check_hrm_mlp(model, config):
    check_hrm(model, config)
    assert config.model.mixer == "mlp_t"


def check_direct(model, config):
    assert isinstance(model, DirectPredictor) and len(model.net.blocks) == 8
    log, _, carry, _ = _step(model)
    assert len(log) == 1 and carry.halted.all() and carry.steps.tolist() == [1, 1, 1]


CHECKS = {
    "trm": check_trm,
    "q_learning": check_q_learning,
    "separate_nets": check_separate_nets,
    "single_latent": check_single_latent,
    "no_ema": check_no_ema,
    "more_layers": check_more_layers,
    "attention": check_attention,
    "less_recursion": check_less_recursion,
    "one_step": check_one_step,
    "softmax": check_softmax,
    "hrm": check_hrm,
    "hrm_mlp": check_hrm_mlp,
    "direct": check_direct,
    "direct_mlp": check_direct,
}


def test_every_variant_has_a_property_check():
    assert set(CHECKS) == set(ab.VARIANTS)


@pytest.mark.parametrize("name", list(ab.VARIANTS))
def test_variant_defining_property(name, data, tmp_path):
    config = config_of(name, data, tmp_path, **{"model.halt_exploration_prob": 0.0})
    torch.manual_seed(0)
    model = build_model(config)
    with torch.no_grad():
        model.q_head.weight.normal_(std=0.3)
    CHECKS[name](model, config)


def test_benchmark_runs_caches_and_reports(data, tmp_path, capsys):
    out = tmp_path / "bench"
    argv = ["--steps", "2", "--seeds", "2", "--variants", "trm,no_ema", "--out", str(out)]
    argv += ["--train-puzzles", "12", "--test-puzzles", "6", "--num-aug", "1"]
    argv += ["--set", "eval.batch_size=8", "--set", "train.global_batch_size=8"]
    argv += [f"--set={k}={v}" for k, v in TINY.items()]
    rows = ab.main(argv)
    assert [r["variant"] for r in rows] == ["trm", "no_ema"] and all(r["seeds"] == 2 for r in rows)
    for r in rows:
        assert 0 <= r["min"] <= r["mean"] <= r["max"] <= 100 and r["steps"] == 2
    assert rows[0]["paper"] == 87.4 and rows[1]["paper"] == 79.9
    printed = capsys.readouterr().out
    assert (
        "trm" in printed
        and "87.4" in printed
        and "reproduce: .venv/bin/python benchmarks/ablations.py" in printed
    )
    for seed in (0, 1):
        trm_ckpt = next((out / "trm" / f"seed{seed}" / "checkpoints").glob("step_*"))
        no_ema_ckpt = next((out / "no_ema" / f"seed{seed}" / "checkpoints").glob("step_*"))
        assert (trm_ckpt / "ema.safetensors").is_file() and not (no_ema_ckpt / "ema.safetensors").exists()
    first = json.loads((out / "results.json").read_text())
    assert all(not r["cached"] for runs in first["runs"].values() for r in runs)

    again = ab.main(argv)  # every run is cached: same numbers, nothing retrained
    second = json.loads((out / "results.json").read_text())
    assert all(r["cached"] for runs in second["runs"].values() for r in runs)
    assert [r["mean"] for r in again] == [r["mean"] for r in rows]
    assert second["runs"]["trm"][0]["exact_accuracy"] == first["runs"]["trm"][0]["exact_accuracy"]


def test_budget_must_be_steps_or_minutes(data, tmp_path):
    with pytest.raises(ValueError, match="exactly one budget"):
        ab.variant_config("trm", data=data, out_dir=tmp_path, seed=0, steps=10, minutes=1.0)
    cfg = ab.variant_config("trm", data=data, out_dir=tmp_path, seed=0, steps=None, minutes=1.5)
    assert cfg.train.max_minutes == 1.5 and cfg.train.max_steps is None
