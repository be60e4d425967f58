"""HRM: two modules of 4 blocks, the L/H schedule and input injection, one-step gradient, Q-learning
halting with its target from an extra no-grad step, the paper's parameter count and recipes."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from conftest import random_batch
from trm.config import ModelConfig, load_recipe
from trm.models import build_model, count_parameters
from trm.models.hrm import HRM
from trm.training.losses import deep_supervision_loss

V, L, IDS = 7, 12, 3


def tiny(**kw) -> ModelConfig:
    base = dict(
        arch="hrm", hidden_size=16, num_heads=4, mixer="attention", H_cycles=2, L_cycles=2, halt_max_steps=4,
        puzzle_emb_len=1, width_multiple=8, h_layers=4, l_layers=4, gradient="one_step", halting="q_learning",
        halt_exploration_prob=0.0, vocab_size=V, seq_len=L, num_puzzle_identifiers=IDS,
    )  # fmt: skip
    base.update(kw)
    return ModelConfig(**base)


def build(seed: int = 0, **kw) -> HRM:
    torch.manual_seed(seed)
    model = build_model(tiny(**kw))
    assert isinstance(model, HRM)
    return model


def make_batch(b: int, seed: int) -> dict[str, torch.Tensor]:
    return random_batch(b, seed, V, L, IDS)


def _log_calls(model: HRM) -> list[tuple[str, bool, bool]]:
    """Record (module name, grad enabled, output requires grad) for every L / H module call."""
    log: list[tuple[str, bool, bool]] = []
    for name, module in (("L", model.L_net), ("H", model.H_net)):
        module.register_forward_hook(
            lambda m, args, out, name=name: log.append((name, torch.is_grad_enabled(), out.requires_grad))
        )
    return log


def test_paper_parameter_count_and_recipe():
    cfg = load_recipe("hrm_sudoku", ["model.vocab_size=11", "model.seq_len=81"])
    m = cfg.model
    assert (m.arch, m.hidden_size, m.num_heads, m.expansion, m.mixer) == ("hrm", 512, 8, 4.0, "attention")
    assert (m.h_layers, m.l_layers, m.H_cycles, m.L_cycles, m.halt_max_steps) == (4, 4, 2, 2, 16)
    assert (m.gradient, m.halting, m.halt_exploration_prob) == ("one_step", "q_learning", 0.1)
    t = cfg.train
    assert (t.lr, t.weight_decay, t.puzzle_emb_lr, t.global_batch_size) == (1e-4, 1.0, 1e-4, 768)
    assert (t.epochs, t.eval_interval, t.ema) == (20_000, 2_000, False)
    with torch.device("meta"):
        model = build_model(cfg)
    # Two modules of 4 blocks (3,407,872 each at d=512), token embedding, lm_head and the 2-logit q_head.
    assert count_parameters(model) == 27_275_266
    assert len(model.L_net.blocks) == 4 and len(model.H_net.blocks) == 4


def test_maze_and_arc_recipes_keep_the_model_and_change_the_training():
    sudoku, maze, arc = (load_recipe(r) for r in ("hrm_sudoku", "hrm_maze", "hrm_arc"))
    assert maze.model == sudoku.model and maze.task == "maze" and maze.train == sudoku.train
    assert arc.task == "arc" and arc.model.arch == "hrm" and arc.model.gradient == "one_step"
    assert (arc.train.epochs, arc.train.eval_interval, arc.train.weight_decay) == (100_000, 10_000, 0.1)
    assert (arc.train.puzzle_emb_lr, arc.train.puzzle_emb_weight_decay) == (1e-2, 0.1)


def test_two_distinct_modules_and_switches_that_contradict_hrm():
    model = build(h_layers=3, l_layers=2)
    assert len(model.L_net.blocks) == 2 and len(model.H_net.blocks) == 3
    assert model.L_net is model.net and model.H_net is model.net_y
    l_ids = {id(p) for p in model.L_net.parameters()}
    assert l_ids and l_ids.isdisjoint(id(p) for p in model.H_net.parameters())
    assert model.config.l_layers == 2 and model.config.num_layers == 2  # the user's config is kept
    for bad in ({"separate_nets": True}, {"single_latent": True}):
        with pytest.raises(ValueError, match="HRM"):
            build(**bad)


def test_schedule_order_and_one_step_gradient():
    model = build(H_cycles=2, L_cycles=3, halting="single")
    log = _log_calls(model)
    batch = make_batch(2, 0)
    model.train()
    model(model.initial_carry(batch), batch)
    # T x (n L-updates, then one H-update); only the last L and the last H update record a graph.
    assert [n for n, _, _ in log] == ["L", "L", "L", "H"] * 2
    assert [g for _, g, _ in log] == [False] * 6 + [True, True]
    assert [r for _, _, r in log] == [False] * 6 + [True, True]


def test_input_injection_matches_the_papers_update_rules():
    model = build(H_cycles=2, L_cycles=2).eval()
    batch = make_batch(3, 1)
    carry, _ = model(model.initial_carry(batch), batch)
    carry = replace(carry, halted=torch.zeros(3, dtype=torch.bool))
    with torch.no_grad():
        new, out = model(carry, batch)
        x = model.embed(batch["inputs"], batch["puzzle_identifiers"])
        z_h, z_l = carry.y, carry.z
        for _ in range(2):  # T
            for _ in range(2):  # n
                z_l = model.L_net(z_l + z_h + x)
            z_h = model.H_net(z_h + z_l)
        torch.testing.assert_close(new.z, z_l)
        torch.testing.assert_close(new.y, z_h)
        torch.testing.assert_close(out.logits, model.lm_head(z_h[:, 1:]))
        q = model.q_head(z_h[:, 0])
        torch.testing.assert_close(torch.stack([out.q_halt, out.q_continue], 1), q)


def _grads(model, loss) -> dict[str, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {k: p.grad.to_dense().clone() for k, p in model.named_parameters() if p.grad is not None}


def test_one_step_gradient_equals_backprop_through_the_last_L_and_H_updates_only():
    model = build(mixer="mlp_t", halting="single")
    with torch.no_grad():
        model.q_head.weight.normal_()
    batch = make_batch(3, 2)
    carry, _ = model(model.initial_carry(batch), batch)
    carry = replace(carry, halted=torch.zeros(3, dtype=torch.bool))
    _, out = model(carry, batch)
    got = _grads(model, out.logits.square().sum() + out.q_halt.sum())

    x = model.embed(batch["inputs"], batch["puzzle_identifiers"])
    z_h, z_l = carry.y, carry.z
    with torch.no_grad():
        z_l = model.L_net(z_l + z_h + x)
        z_l = model.L_net(z_l + z_h + x)
        z_h = model.H_net(z_h + z_l)
        z_l = model.L_net(z_l + z_h + x)
    z_l = model.L_net(z_l + z_h + x)  # the last L update: gradient to L and to x
    z_h = model.H_net(z_h + z_l)  # the last H update
    expected = _grads(model, model.lm_head(z_h[:, 1:]).square().sum() + model.q_head(z_h[:, 0])[:, 0].sum())
    assert (
        got.keys() == expected.keys()
        and {"embed.puzzle.weight", "net.blocks.0.mlp.down.weight"} <= got.keys()
    )
    for k in got:
        torch.testing.assert_close(got[k], expected[k], rtol=1e-5, atol=1e-6, msg=k)


def test_q_learning_target_comes_from_an_extra_no_grad_step_of_the_next_state():
    model = build(halt_max_steps=3)
    with torch.no_grad():
        model.q_head.weight.normal_(std=0.5)
    log = _log_calls(model)
    batch = make_batch(4, 3)
    model.train()
    carry = model.initial_carry(batch)
    for step in range(1, 4):
        log.clear()
        new, out = model(carry, batch)
        # The step itself (T*n L + T H calls) and one more step for the target, all of it without grad.
        assert len(log) == 2 * (2 * 2 + 2) and not any(g for _, g, _ in log[6:])
        assert out.q_continue.requires_grad and not out.target_q_continue.requires_grad
        with torch.no_grad():  # the next supervision step from the returned state
            _, nxt = model(replace(new, halted=torch.zeros(4, dtype=torch.bool)), batch)
        value = nxt.q_halt if step + 1 >= 3 else torch.maximum(nxt.q_halt, nxt.q_continue)
        torch.testing.assert_close(out.target_q_continue, torch.sigmoid(value))
        assert torch.equal(new.halted, (out.q_halt > out.q_continue) | (new.steps >= 3))
        carry = replace(new, halted=torch.zeros(4, dtype=torch.bool))

    loss, _ = deep_supervision_loss(
        out.logits, new.data["labels"], out.q_halt, halted=new.halted, steps=new.steps, global_batch_size=4,
        q_continue=out.q_continue, target_q_continue=out.target_q_continue,
    )  # fmt: skip
    without, _ = deep_supervision_loss(
        out.logits, new.data["labels"], out.q_halt, halted=new.halted, steps=new.steps, global_batch_size=4
    )
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        out.q_continue, out.target_q_continue, reduction="sum"
    )
    torch.testing.assert_close(loss - without, 0.5 * bce / 4)


def test_eval_mode_runs_N_sup_steps_without_the_extra_pass():
    model = build().eval()
    log = _log_calls(model)
    batch = make_batch(2, 4)
    carry = model.initial_carry(batch)
    with torch.no_grad():
        for step in range(1, 5):
            carry, out = model(carry, batch)
            assert out.target_q_continue is None and carry.halted.tolist() == [step == 4] * 2
    assert len(log) == 4 * 6
