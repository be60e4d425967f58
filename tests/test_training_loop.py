"""The trainer end to end on a tiny TRM and a tiny generated dataset (4x4 grids, vocab 6).

Properties: resume equals an uninterrupted run (bit for bit on CPU), same seed -> same weights,
the loss falls on a learnable task, SIGINT leaves a resumable checkpoint, files land where agreed.
"""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from trm.checkpoints.run_dir import latest_checkpoint, load_training_state
from trm.config import ConfigError, RunConfig
from trm.data.format import DatasetMetadata, write_split
from trm.training.logging import read_metrics
from trm.training.loop import Trainer, TrainingInterrupted, train


def _write_dataset(root, n_train: int = 48, n_test: int = 16, seed: int = 0, copy: bool = False) -> str:
    """Random 4x4 grids of tokens 1..5; labels are a fixed function of inputs (copy or shift)."""
    rng = np.random.default_rng(seed)
    for name, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(1, 6, size=(n, 16))
        y = x if copy else (x % 5) + 1
        meta = DatasetMetadata(
            task="toy", vocab_size=6, seq_len=16, grid_shape=(4, 4), num_puzzle_identifiers=4
        )
        write_split(
            root,
            name,
            inputs=x,
            labels=y,
            puzzle_identifiers=rng.integers(1, 4, size=n),
            puzzle_indices=np.arange(n + 1),
            group_indices=np.arange(n + 1),
            metadata=meta,
        )
    return str(root)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return _write_dataset(tmp_path_factory.mktemp("toy"))


def tiny_config(data: str, out_dir, **train) -> RunConfig:
    t = dict(
        global_batch_size=8,
        epochs=100,
        lr=3e-3,
        lr_warmup_steps=2,
        weight_decay=0.1,
        puzzle_emb_lr=1e-2,
        log_every=2,
        eval_interval=None,
        dtype="float32",
        device="cpu",
        seed=3,
    )
    t.update(train)
    return RunConfig.model_validate(
        dict(
            out_dir=str(out_dir),
            model=dict(
                hidden_size=32,
                num_heads=2,
                num_layers=1,
                mixer="mlp_t",
                H_cycles=2,
                L_cycles=2,
                halt_max_steps=4,
                halt_exploration_prob=0.5,
                puzzle_emb_len=2,
                width_multiple=16,
            ),
            data=dict(path=data, eval_limit=8),
            train=t,
            eval=dict(batch_size=8),
            logging=dict(tensorboard=False),
        )
    )


def _final(out_dir) -> dict[str, torch.Tensor]:
    step_dir = latest_checkpoint(out_dir)
    weights = load_file(str(step_dir / "model.safetensors"))
    weights.update({f"ema.{k}": v for k, v in load_file(str(step_dir / "ema.safetensors")).items()})
    return weights


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("optimizer", ["adam_atan2", "adamw"])
def test_resume_via_max_steps_equals_uninterrupted_run(data_dir, tmp_path, optimizer):
    k = 5
    full = train(
        tiny_config(data_dir, tmp_path / "full", max_steps=2 * k, optimizer=optimizer), progress=False
    )
    first = train(tiny_config(data_dir, tmp_path / "split", max_steps=k, optimizer=optimizer), progress=False)
    assert first.step == k and first.stopped == "max_steps"
    second = train(
        tiny_config(data_dir, tmp_path / "split", max_steps=2 * k, optimizer=optimizer),
        resume=True,
        progress=False,
    )
    assert second.step == full.step == 2 * k
    _assert_same(_final(tmp_path / "full"), _final(tmp_path / "split"))
    # The carry and the loader position match too.
    s_full = load_training_state(latest_checkpoint(tmp_path / "full"))
    s_split = load_training_state(latest_checkpoint(tmp_path / "split"))
    assert s_full["loader"] == s_split["loader"]
    for key, v in s_full["ranks"][0]["carry"].items():
        assert torch.equal(v, s_split["ranks"][0]["carry"][key]), key
    # metrics.jsonl holds one history: train records at steps 2, 4, (6, 8, 10) once each
    steps = [r["step"] for r in read_metrics(tmp_path / "split", "train")]
    assert steps == [2, 4, 6, 8, 10]


def test_data_order_reaches_the_loader_and_a_resume_must_keep_it(data_dir, tmp_path):
    cfg = tiny_config(data_dir, tmp_path / "o", max_steps=3)
    cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"order": "examples"})})
    train(cfg, progress=False)
    assert load_training_state(latest_checkpoint(tmp_path / "o"))["loader"]["order"] == "examples"
    with pytest.raises(ValueError, match="data order 'examples'"):
        train(tiny_config(data_dir, tmp_path / "o", max_steps=6), resume=True, progress=False)


def test_stop_at_step_resume_keeps_the_cosine_schedule(data_dir, tmp_path):
    kw = dict(max_steps=8, lr_min_ratio=0.1, lr_warmup_steps=2)
    train(tiny_config(data_dir, tmp_path / "full", **kw), progress=False)
    part = train(tiny_config(data_dir, tmp_path / "split", **kw), stop_at_step=3, progress=False)
    assert part.stopped == "stop_at_step" and part.step == 3 and part.metrics == {}
    done = train(tiny_config(data_dir, tmp_path / "split", **kw), resume=True, progress=False)
    assert done.stopped == "max_steps" and "exact_accuracy" in done.metrics
    _assert_same(_final(tmp_path / "full"), _final(tmp_path / "split"))
    lrs = [r["lr"] for r in read_metrics(tmp_path / "full", "train")]
    assert lrs[0] == pytest.approx(3e-3) and lrs[-1] == pytest.approx(3e-4)  # cosine reached lr * 0.1


def test_same_seed_same_weights_other_seed_differs(data_dir, tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        train(tiny_config(data_dir, tmp_path / name, max_steps=4, seed=seed), progress=False)
    _assert_same(_final(tmp_path / "a"), _final(tmp_path / "b"))
    a, c = _final(tmp_path / "a"), _final(tmp_path / "c")
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_sigint_checkpoints_the_finished_step_and_resumes_exactly(data_dir, tmp_path, monkeypatch):
    train(tiny_config(data_dir, tmp_path / "full", max_steps=6), progress=False)
    original = Trainer._train_step

    def step_then_signal(self, batch):
        stats = original(self, batch)
        if self.step == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return stats

    monkeypatch.setattr(Trainer, "_train_step", step_then_signal)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN under nohup or a background job, else Python's
    with pytest.raises(TrainingInterrupted) as info:
        train(tiny_config(data_dir, tmp_path / "split", max_steps=6), progress=False)
    assert info.value.checkpoint.name == "step_00000003"
    assert signal.getsignal(signal.SIGINT) is before  # the handler installed before training is back
    monkeypatch.setattr(Trainer, "_train_step", original)
    train(tiny_config(data_dir, tmp_path / "split", max_steps=6), resume=True, progress=False)
    _assert_same(_final(tmp_path / "full"), _final(tmp_path / "split"))


def test_loss_falls_on_a_learnable_task(tmp_path):
    data = _write_dataset(tmp_path / "copy", n_train=64, copy=True)
    cfg = tiny_config(
        data,
        tmp_path / "run",
        max_steps=100,
        log_every=20,
        lr=1e-2,
        optimizer="adamw",
        lr_warmup_steps=10,
        ema_rate=0.9,
    )  # a short EMA so the evaluated weights have learnt too
    result = train(cfg, progress=False)
    records = read_metrics(tmp_path / "run", "train")
    assert [r["step"] for r in records] == [20, 40, 60, 80, 100]
    assert records[-1]["loss"] < 0.5 * records[0]["loss"]
    assert records[-1]["lm_loss"] < 0.25 * records[0]["lm_loss"]
    assert records[-1]["all_token_accuracy"] > 0.95 and records[-1]["exact_accuracy"] > 0.5
    assert result.metrics["token_accuracy"] > 0.9  # held-out grids, EMA weights


def test_run_layout_and_refusal_to_overwrite(data_dir, tmp_path):
    out = tmp_path / "run"
    result = train(tiny_config(data_dir, out, max_steps=4, checkpoint_every=2), progress=False)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "latest",
        "step_00000002",
        "step_00000004",
    ]
    assert (out / "checkpoints" / "latest").read_text().strip() == "step_00000004" == result.checkpoint.name
    meta = json.loads((result.checkpoint / "meta.json").read_text())
    assert meta["step"] == 4 and meta["trm_version"] and meta["dataset"]["seq_len"] == 16
    saved = (out / "config.yaml").read_text()
    assert "vocab_size: 6" in saved  # the resolved model config, filled from the dataset
    kinds = [r["kind"] for r in read_metrics(out)]
    assert kinds.count("eval") == 1 and kinds[-1] == "eval"
    with pytest.raises(ConfigError, match="--resume"):
        train(tiny_config(data_dir, out, max_steps=4), progress=False)


def test_eval_every_interval_epochs(data_dir, tmp_path):
    # 48 examples / batch 8 = 6 steps per epoch; eval every 1 epoch over 12 steps -> steps 6 and 12 (final).
    train(tiny_config(data_dir, tmp_path / "run", max_steps=12, eval_interval=1), progress=False)
    assert [r["step"] for r in read_metrics(tmp_path / "run", "eval")] == [6, 12]
    assert (tmp_path / "run" / "checkpoints" / "step_00000006").is_dir()


def test_missing_data_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="data.path"):
        train(tiny_config(None, tmp_path / "x"), progress=False)
    with pytest.raises(ConfigError, match="split 'train' not found"):
        train(tiny_config(str(tmp_path / "nowhere"), tmp_path / "x"), progress=False)


def test_wall_clock_budget_stops_cleanly_with_checkpoint_and_eval(data_dir, tmp_path, monkeypatch):
    # The run's clock advances 10 ms a step (a loaded machine must not change what this test sees).
    monkeypatch.setattr(Trainer, "_seconds", lambda self: 0.01 * self.step)
    result = train(tiny_config(data_dir, tmp_path / "run", max_minutes=0.0005), progress=False)  # 30 ms
    assert result.stopped == "max_minutes" and result.step == 3
    assert result.checkpoint.name == f"step_{result.step:08d}" and "exact_accuracy" in result.metrics


def test_q_learning_halting_adds_the_continue_loss(data_dir, tmp_path):
    cfg = tiny_config(data_dir, tmp_path / "run", max_steps=2)
    cfg.model.halting = "q_learning"
    train(cfg, progress=False)
    record = read_metrics(tmp_path / "run", "train")[0]
    assert record["q_continue_loss"] > 0


@pytest.mark.slow
def test_compiled_model_trains(data_dir, tmp_path):
    result = train(tiny_config(data_dir, tmp_path / "run", max_steps=3, compile=True), progress=False)
    weights = _final(tmp_path / "run")
    assert result.step == 3 and all(torch.isfinite(w).all() for w in weights.values())


@pytest.mark.slow
@pytest.mark.parametrize("mixer", ["mlp_t", "attention"])
def test_compiled_networks_equal_eager_in_forward_and_gradient(mixer):
    """The trainer's compile (the recursion networks, in place) gives the eager logits and gradients,
    keeps the parameter names, and compiles the training step without recompiling on the next steps."""
    import copy

    from conftest import random_batch
    from trm.config import ModelConfig
    from trm.models import TRM
    from trm.training.loop import _compiled

    torch.manual_seed(0)
    cfg = ModelConfig(hidden_size=32, num_heads=2, num_layers=2, mixer=mixer, H_cycles=2, L_cycles=2,
                      halt_max_steps=4, vocab_size=11, seq_len=16, num_puzzle_identifiers=3,
                      puzzle_emb_len=1, width_multiple=16)  # fmt: skip
    eager = TRM(cfg).train()
    compiled = _compiled(copy.deepcopy(eager))
    assert list(compiled.state_dict()) == list(eager.state_dict())
    batch = random_batch(4, 0, 11, 16, 3)
    torch._dynamo.utils.counters.clear()
    carries = [m.initial_carry(batch) for m in (eager, compiled)]
    for step in range(3):
        torch.manual_seed(step)  # the same halting exploration draws in both
        carries[0], out_e = eager(carries[0], batch)
        torch.manual_seed(step)
        carries[1], out_c = compiled(carries[1], batch)
        # fp32, inductor's own summation order, amplified by the recursion: the CUDA test's tolerance
        torch.testing.assert_close(out_c.logits, out_e.logits, atol=1e-3, rtol=1e-3, msg=f"step {step}")
        out_e.logits.square().mean().backward()
        out_c.logits.square().mean().backward()
        for (name, a), b in zip(eager.named_parameters(), compiled.parameters(), strict=True):
            if a.grad is not None:  # (the puzzle embedding's gradient is sparse)
                ga, gb = a.grad.to_dense(), b.grad.to_dense()
                scale = ga.abs().max()
                torch.testing.assert_close(gb / scale, ga / scale, atol=1e-3, rtol=0, msg=name)
        eager.zero_grad(), compiled.zero_grad()
    frames = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    assert 0 < frames <= 2, f"{frames} graphs for 3 steps: one per grad mode expected"


class _Scripted:
    """Stands in for Trainer._evaluate: exact accuracy step / scale, capped at 1; counts the calls."""

    def __init__(self, scale: float):
        self.scale, self.steps = scale, []

    def __call__(self, trainer) -> dict[str, float]:
        self.steps.append(trainer.step)
        metrics = {"exact_accuracy": min(1.0, trainer.step / self.scale), "token_accuracy": 1.0}
        trainer.last_eval = (trainer.step, metrics)
        return metrics


@pytest.mark.parametrize(
    ("scale", "stopped", "step"),
    [
        (20.0, "target_accuracy", 16),  # 0.8 first reached at step 16 (checks every 4 steps from 10)
        (35.0, "target_accuracy", 28),  # reached after the 20 planned steps: the run went on
        (1000.0, "target_max_steps", 32),  # never reached: stops at target_max_steps
        (5.0, "target_accuracy", 12),  # reached long before: the first check is at half the plan
    ],
)
def test_target_accuracy_stops_on_the_first_evaluation_that_reaches_it(
    data_dir, tmp_path, monkeypatch, scale, stopped, step
):
    scripted = _Scripted(scale)
    monkeypatch.setattr(Trainer, "_evaluate", lambda self: scripted(self))
    cfg = tiny_config(
        data_dir, tmp_path, max_steps=20, target_accuracy=0.8, target_every=4, target_max_steps=32
    )
    result = train(cfg, progress=False)
    assert (result.stopped, result.step) == (stopped, step)
    assert scripted.steps == list(range(12, step + 1, 4))  # every 4 steps from 10 (of 20) on, to the stop
    assert result.metrics["exact_accuracy"] == min(1.0, step / scale)  # the last check's metrics
    assert load_training_state(latest_checkpoint(tmp_path))["step"] == step


def test_target_checks_start_at_half_the_time_budget(data_dir, tmp_path, monkeypatch):
    # A time-budget run plans 600 steps (100 epochs); its clock runs 30 s a step, so half of the
    # 10 minutes is spent at step 10: checks every 4 steps from there, and the target stops it at 16.
    monkeypatch.setattr(Trainer, "_seconds", lambda self: 30.0 * self.step)
    scripted = _Scripted(20.0)
    monkeypatch.setattr(Trainer, "_evaluate", lambda self: scripted(self))
    cfg = tiny_config(data_dir, tmp_path, max_minutes=10, target_accuracy=0.8, target_every=4)
    result = train(cfg, progress=False)
    assert (result.stopped, result.step, scripted.steps) == ("target_accuracy", 16, [12, 16])


def test_train_restores_the_callers_thread_count(data_dir, tmp_path):
    before = torch.get_num_threads()
    train(tiny_config(data_dir, tmp_path, max_steps=3, threads=1), progress=False)
    assert torch.get_num_threads() == before
    logged = read_metrics(tmp_path, "train")
    assert logged and all(r["threads"] == 1 for r in logged)
