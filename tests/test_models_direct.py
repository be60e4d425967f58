"""Direct prediction: exactly one network pass per call, every slot halts after one step, the prediction
does not depend on the carried state, gradient reaches every block, the 27M paper configuration."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from conftest import random_batch
from trm.config import ModelConfig, load_recipe
from trm.evaluation.evaluate import evaluate
from trm.models import build_model, count_parameters
from trm.models.direct import DirectPredictor

V, L, IDS = 7, 12, 3


def tiny(**kw) -> ModelConfig:
    base = dict(
        arch="direct", hidden_size=16, num_heads=4, mixer="attention", num_layers=3, halt_max_steps=1,
        puzzle_emb_len=2, width_multiple=8, vocab_size=V, seq_len=L, num_puzzle_identifiers=IDS,
    )  # fmt: skip
    base.update(kw)
    return ModelConfig(**base)


def build(seed: int = 0, **kw) -> DirectPredictor:
    torch.manual_seed(seed)
    model = build_model(tiny(**kw))
    assert isinstance(model, DirectPredictor)
    return model


def make_batch(b: int, seed: int) -> dict[str, torch.Tensor]:
    return random_batch(b, seed, V, L, IDS)


def test_paper_configuration_is_an_8_layer_27M_transformer():
    cfg = load_recipe("direct_sudoku", ["model.vocab_size=11", "model.seq_len=81"])
    assert (cfg.model.num_layers, cfg.model.mixer, cfg.model.hidden_size, cfg.model.halt_max_steps) == (
        8,
        "attention",
        512,
        1,
    )
    with torch.device("meta"):
        model = build_model(cfg)
    # 8 blocks of 3,407,872 + token embedding 11x512 + lm_head 512x11 + q_head 512+1.
    assert count_parameters(model) == 8 * 3_407_872 + 2 * 11 * 512 + 513 == 27_274_753


@pytest.mark.parametrize("training", [True, False])
def test_one_network_pass_per_call_and_every_slot_halts_after_one_step(training):
    model = build().train(training)
    calls: list[bool] = []
    model.net.register_forward_hook(lambda m, args, out: calls.append(torch.is_grad_enabled()))
    blocks: list[int] = []
    for block in model.net.blocks:
        block.register_forward_hook(lambda m, args, out: blocks.append(1))
    first, second = make_batch(4, 0), make_batch(4, 1)
    carry, out = model(model.initial_carry(first), first)
    assert len(calls) == 1 and len(blocks) == 3
    assert carry.halted.all() and carry.steps.tolist() == [1] * 4 and out.q_continue is None
    carry, _ = model(carry, second)  # no deep supervision: every slot takes the new puzzle
    assert len(calls) == 2 and carry.steps.tolist() == [1] * 4
    for key in first:
        assert torch.equal(carry.data[key], second[key])


def test_prediction_ignores_the_carried_state():
    model = build().eval()
    batch = make_batch(3, 2)
    carry, out = model(model.initial_carry(batch), batch)
    noisy = replace(
        carry, y=torch.randn_like(carry.y), z=torch.randn_like(carry.z), halted=torch.zeros(3, dtype=bool)
    )
    with torch.no_grad():
        _, again = model(noisy, batch)
        x = model.embed(batch["inputs"], batch["puzzle_identifiers"])
        by_hand = model.lm_head(model.net(x)[:, 2:])
    torch.testing.assert_close(again.logits, out.logits)
    torch.testing.assert_close(out.logits, by_hand)
    assert not carry.y.requires_grad


def test_gradient_reaches_every_block_and_the_puzzle_embedding():
    model = build(mixer="mlp_t")
    with torch.no_grad():
        model.q_head.weight.normal_()
    batch = make_batch(3, 3)
    _, out = model(model.initial_carry(batch), batch)
    (out.logits.square().sum() + out.q_halt.sum()).backward()
    for i in range(3):
        assert model.net.blocks[i].mlp.down.weight.grad.abs().sum() > 0
    assert model.puzzle_emb.weight.grad.is_sparse


def test_recursion_switches_are_errors():
    with pytest.raises(ValueError, match="halt_max_steps=1"):
        build(halt_max_steps=16)
    for bad in ({"halting": "q_learning"}, {"gradient": "one_step"}, {"separate_nets": True}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            build(**bad)


def test_evaluator_scores_the_single_pass(tmp_path):
    import numpy as np

    from trm.data.format import DatasetMetadata, open_split, write_split

    meta = DatasetMetadata(task="toy", vocab_size=V, seq_len=L, grid_shape=(3, 4), num_puzzle_identifiers=IDS)
    toks = np.random.default_rng(0).integers(1, V, (5, L))
    write_split(
        tmp_path, "test", inputs=toks, labels=toks, puzzle_identifiers=np.arange(5) % IDS,
        puzzle_indices=np.arange(6), group_indices=np.array([0, 5]), metadata=meta,
    )  # fmt: skip
    model = build()
    result = evaluate(model, open_split(tmp_path, "test"), batch_size=4, device="cpu", dtype="float32")
    assert result.metrics["exact_accuracy"] == result.metrics["exact_accuracy_step_1"]
    assert "exact_accuracy_step_2" not in result.metrics
