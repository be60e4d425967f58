"""TRM: paper parameter counts, the recursion's gradient path, carry resets, halting, dtypes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import random_batch
from trm.config import ModelConfig, RunConfig, load_recipe
from trm.data.format import DatasetMetadata, write_split
from trm.models import Carry, build_model, count_parameters

V, L, IDS = 7, 12, 5


def tiny(**kw) -> ModelConfig:
    base = dict(
        hidden_size=16, num_heads=4, mixer="attention", H_cycles=3, L_cycles=2, halt_max_steps=4,
        puzzle_emb_len=2, width_multiple=8, vocab_size=V, seq_len=L, num_puzzle_identifiers=IDS,
    )  # fmt: skip
    base.update(kw)
    return ModelConfig(**base)


def make_batch(b: int, seed: int) -> dict[str, torch.Tensor]:
    return random_batch(b, seed, V, L, IDS)


def build(seed: int = 0, **kw):
    torch.manual_seed(seed)
    return build_model(tiny(**kw))


@pytest.mark.parametrize(("recipe", "expected"), [("sudoku_att", 6_828_034), ("sudoku_mlp", 5_028_866)])
def test_paper_parameter_counts(recipe, expected):
    cfg = load_recipe(recipe, ["model.vocab_size=11", "model.seq_len=81"])
    with torch.device("meta"):
        model = build_model(cfg)
    assert count_parameters(model) == expected
    assert model.puzzle_emb is not None and model.puzzle_emb.weight.shape == (1, 512)
    assert {"y0", "z0"} <= {name for name, _ in model.named_buffers()}
    assert "y0" not in {name for name, _ in model.named_parameters()}


def test_heads_and_initial_states():
    model = build()
    assert model.lm_head.weight.shape == (V, 16) and model.lm_head.bias is None
    assert torch.all(model.q_head.weight == 0) and torch.all(model.q_head.bias == -5)
    assert model.y0.shape == (16,) and model.y0.abs().max() <= 2 / 0.8796256610342398 + 1e-6
    assert not torch.equal(model.y0, model.z0)


def test_input_embedding_layout():
    model = build()
    with torch.no_grad():
        model.puzzle_emb.weight.normal_()
    batch = make_batch(3, 0)
    x = model.embed(batch["inputs"], batch["puzzle_identifiers"])  # [B, P+L, D]
    scale = 16**0.5
    assert x.shape == (3, 2 + L, 16)
    torch.testing.assert_close(x[:, 0], model.puzzle_emb.weight[batch["puzzle_identifiers"]] * scale)
    assert torch.all(x[:, 1] == 0)
    torch.testing.assert_close(x[:, 2:], model.embed.tokens.weight[batch["inputs"]] * scale)


def test_prefix_exists_without_puzzle_embedding():
    model = build(puzzle_emb=False)
    assert model.puzzle_emb is None
    x = model.embed(make_batch(2, 0)["inputs"], torch.zeros(2, dtype=torch.long))
    assert x.shape == (2, 2 + L, 16) and torch.all(x[:, :2] == 0)


def _record_net_calls(module: torch.nn.Module, log: list) -> None:
    module.register_forward_hook(
        lambda m, args, out: log.append((m, torch.is_grad_enabled(), out.requires_grad))
    )


@pytest.mark.parametrize(("gradient", "with_grad"), [("last_cycle", 3), ("one_step", 2)])
def test_one_step_calls_net_T_n_plus_1_times_and_only_the_last_cycle_records_a_graph(gradient, with_grad):
    model = build(gradient=gradient)  # T=3, n=2
    log: list = []
    _record_net_calls(model.net, log)
    batch = make_batch(2, 0)
    model(model.initial_carry(batch), batch)
    assert len(log) == 3 * (2 + 1)
    assert [g for _, g, _ in log] == [False] * (9 - with_grad) + [True] * with_grad
    assert [r for _, _, r in log] == [False] * (9 - with_grad) + [True] * with_grad
    log.clear()
    with torch.no_grad():  # evaluation: nothing records a graph
        model.eval()
        model(model.initial_carry(batch), batch)
    assert len(log) == 9 and not any(g for _, g, _ in log)


def _manual_step(model, batch, y, z, detach_before_last_cycle: bool):
    """Recompute one step from the building blocks, with a graph through every cycle."""
    x = model.embed(batch["inputs"], batch["puzzle_identifiers"])
    T, n = model.config.H_cycles, model.config.L_cycles
    for cycle in range(T):
        if cycle == T - 1 and detach_before_last_cycle:
            y, z = y.detach(), z.detach()
        for _ in range(n):
            z = model.net(z + y + x)
        y = model.net(y + z)
    return model.lm_head(y[:, model.prefix_len :]), model.q_head(y[:, 0])


def _grads(model, loss) -> dict[str, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {k: p.grad.to_dense().clone() for k, p in model.named_parameters() if p.grad is not None}


def test_gradients_reach_the_network_only_through_the_last_cycle():
    model = build(mixer="mlp_t")
    with torch.no_grad():
        model.q_head.weight.normal_()  # so q contributes gradient to the network
    batch = make_batch(3, 1)
    carry, _ = model(model.initial_carry(batch), batch)  # a non-initial state
    carry.halted[:] = False
    _, out = model(carry, batch)
    got = _grads(model, out.logits.square().sum() + out.q_halt.sum())

    logits, q = _manual_step(model, batch, carry.y, carry.z, detach_before_last_cycle=True)
    expected = _grads(model, logits.square().sum() + q[:, 0].sum())
    assert got.keys() == expected.keys() and "embed.puzzle.weight" in got
    for k in got:
        torch.testing.assert_close(got[k], expected[k], rtol=1e-5, atol=1e-6, msg=k)

    logits, q = _manual_step(model, batch, carry.y, carry.z, detach_before_last_cycle=False)
    full = _grads(model, logits.square().sum() + q[:, 0].sum())
    assert not torch.allclose(full["net.blocks.0.mlp.gate_up.weight"], got["net.blocks.0.mlp.gate_up.weight"])


def test_puzzle_embedding_gradient_is_sparse_over_the_batch_rows():
    model = build()
    batch = make_batch(4, 2)
    batch["puzzle_identifiers"] = torch.tensor([3, 1, 3, 3])
    _, out = model(model.initial_carry(batch), batch)
    out.logits.square().sum().backward()
    grad = model.puzzle_emb.weight.grad
    assert grad.is_sparse
    rows = grad.coalesce().indices()[0].tolist()
    assert sorted(rows) == [1, 3]
    assert count_parameters(model) == sum(p.numel() for p in model.parameters()) - IDS * 16


def test_halted_slots_reset_and_take_new_data_others_keep_theirs():
    model = build().eval()
    first, second = make_batch(4, 10), make_batch(4, 11)
    carry, _ = model(model.initial_carry(first), first)
    carry.halted = torch.tensor([True, False, True, False])
    new, out = model(carry, second)
    reset, kept = [0, 2], [1, 3]
    for key in first:
        assert torch.equal(new.data[key][reset], second[key][reset])
        assert torch.equal(new.data[key][kept], first[key][kept])
    assert new.steps.tolist() == [1, 2, 1, 2]

    fresh, fresh_out = model(model.initial_carry(second), second)  # rows started from y0, z0
    carry.halted = torch.zeros(4, dtype=torch.bool)
    cont, cont_out = model(carry, second)  # rows continued from the old state and data
    torch.testing.assert_close(new.y[reset], fresh.y[reset], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(new.z[reset], fresh.z[reset], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(new.y[kept], cont.y[kept], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.logits[kept], cont_out.logits[kept], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(new.y[kept], fresh.y[kept])
    assert not new.y.requires_grad and not new.z.requires_grad


def test_eval_mode_halts_only_at_N_sup():
    model = build().eval()
    with torch.no_grad():
        model.q_head.bias.fill_(5.0)  # the head says "halt" everywhere
    batch = make_batch(3, 0)
    carry = model.initial_carry(batch)
    for step in range(1, 5):
        carry, out = model(carry, batch)
        assert torch.all(out.q_halt > 0)
        assert carry.halted.tolist() == [step == 4] * 3


def test_training_halts_on_q_and_exploration_keeps_at_least_two_steps():
    model = build(halt_exploration_prob=0.0, halt_max_steps=6).train()
    with torch.no_grad():
        model.q_head.bias.fill_(5.0)
    batch = make_batch(3, 0)
    carry, _ = model(model.initial_carry(batch), batch)
    assert carry.halted.all()  # q_halt > 0 halts at once without exploration

    model = build(halt_exploration_prob=1.0, halt_max_steps=6).train()
    with torch.no_grad():
        model.q_head.bias.fill_(5.0)
    batch = make_batch(64, 0)
    torch.manual_seed(0)
    carry = model.initial_carry(batch)
    halting_steps = []
    for _ in range(12):
        carry, _ = model(carry, batch)
        halting_steps += carry.steps[carry.halted].tolist()
    assert halting_steps and min(halting_steps) >= 2 and max(halting_steps) <= 6
    assert {2, 6} <= set(halting_steps)


def test_training_without_a_halt_signal_runs_to_N_sup():
    model = build(halt_exploration_prob=0.5).train()  # q_halt = -5 < 0
    batch = make_batch(4, 0)
    carry = model.initial_carry(batch)
    for step in range(1, 5):
        carry, _ = model(carry, batch)
        assert carry.halted.tolist() == [step == 4] * 4


def test_q_learning_outputs_and_target():
    model = build(halting="q_learning", halt_exploration_prob=0.0, halt_max_steps=3)
    with torch.no_grad():
        model.q_head.weight.normal_()
    batch = make_batch(4, 0)
    model.eval()
    _, out = model(model.initial_carry(batch), batch)
    assert out.q_continue is not None and out.target_q_continue is None

    model.train()
    carry = model.initial_carry(batch)
    for step in range(1, 4):
        carry.halted[:] = step == 1
        new, out = model(carry, batch)
        x = model.embed(batch["inputs"], batch["puzzle_identifiers"])
        nq = model.forward_q(x, new.y, new.z)
        value = nq[:, 0] if step + 1 >= 3 else nq.max(dim=1).values
        torch.testing.assert_close(out.target_q_continue, torch.sigmoid(value))
        assert not out.target_q_continue.requires_grad and out.q_continue.requires_grad
        expected = (out.q_halt > out.q_continue) | (new.steps >= 3)
        assert torch.equal(new.halted, expected)
        carry = new


def test_separate_nets_single_latent_and_call_counts():
    model = build(separate_nets=True)
    base = build()
    assert count_parameters(model) - count_parameters(base) == sum(p.numel() for p in base.net.parameters())
    z_calls: list = []
    y_calls: list = []
    _record_net_calls(model.net, z_calls)
    _record_net_calls(model.net_y, y_calls)
    batch = make_batch(2, 0)
    model(model.initial_carry(batch), batch)
    assert len(z_calls) == 3 * 2 and len(y_calls) == 3

    model = build(single_latent=True)
    calls: list = []
    _record_net_calls(model.net, calls)
    carry, out = model(model.initial_carry(batch), batch)
    assert len(calls) == 9 and torch.equal(carry.y, carry.z)
    assert out.logits.shape == (2, L, V)


def test_bf16_autocast_keeps_carry_in_bf16_and_outputs_in_fp32():
    model = build(mixer="attention").eval()
    batch = make_batch(3, 0)
    with torch.no_grad():
        ref_carry, ref = model(model.initial_carry(batch), batch)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            carry, out = model(model.initial_carry(batch), batch)
            carry2, out2 = model(carry, batch)
    assert carry.y.dtype == torch.bfloat16 and carry2.z.dtype == torch.bfloat16
    assert out.logits.dtype == torch.float32 and out.q_halt.dtype == torch.float32
    assert next(model.parameters()).dtype == torch.float32
    assert ((out.logits - ref.logits).norm() / ref.logits.norm()).item() < 0.05  # the same computation


def test_same_seed_same_model_and_outputs():
    a, b = build(seed=3), build(seed=3)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    batch = make_batch(2, 0)
    assert torch.equal(a(a.initial_carry(batch), batch)[1].logits, b(b.initial_carry(batch), batch)[1].logits)


def test_carry_dict_round_trip_and_eval_keys_are_carried():
    model = build().eval()
    batch = make_batch(2, 0)
    batch["index"] = torch.tensor([5, 9])
    batch["mask"] = torch.tensor([True, False])
    carry, _ = model(model.initial_carry(batch), batch)
    assert carry.data["index"].tolist() == [5, 9] and carry.data["mask"].tolist() == [True, False]
    back = Carry.from_dict(carry.to_dict())
    assert torch.equal(back.y, carry.y) and back.data.keys() == carry.data.keys()


def test_build_model_fills_from_metadata_and_dataset(tmp_path):
    meta = DatasetMetadata(task="toy", vocab_size=V, seq_len=L, grid_shape=(3, 4), num_puzzle_identifiers=IDS)
    rng = np.random.default_rng(0)
    toks = rng.integers(0, V, (6, L))
    write_split(
        tmp_path, "train", inputs=toks, labels=toks, puzzle_identifiers=np.arange(3) % IDS,
        puzzle_indices=np.array([0, 2, 4, 6]), group_indices=np.array([0, 3]), metadata=meta,
    )  # fmt: skip
    unfilled = tiny(vocab_size=None, seq_len=None, num_puzzle_identifiers=None)
    model = build_model(unfilled, meta)
    assert (model.config.vocab_size, model.config.seq_len, model.config.num_puzzle_identifiers) == (V, L, IDS)
    run = RunConfig(model=unfilled, data={"path": str(tmp_path)})
    assert build_model(run).config.seq_len == L
    with pytest.raises(ValueError, match="seq_len"):
        build_model(tiny(seq_len=L + 1), meta)
    with pytest.raises(ValueError, match="inputs must be"):
        m = build()
        bad = make_batch(2, 0)
        bad["inputs"] = bad["inputs"][:, :-1]
        m(m.initial_carry(bad), bad)
