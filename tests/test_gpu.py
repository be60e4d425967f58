"""GPU checks (marker ``gpu``; run by ``benchmarks/gpu_check.sh`` on a machine with CUDA, skipped elsewhere).

Each compares the CUDA path with the CPU path or with itself in another mode, on tiny models:
the fp32 forward is as close to float64 as the CPU's, a bf16 training step moves the weights and keeps
the loss finite, a compiled model equals the eager one, and the trainer runs end to end on the GPU.
"""

from __future__ import annotations

import copy

import pytest
import torch

from conftest import random_batch
from trm.config import ModelConfig, TrainConfig
from trm.models import TRM
from trm.training.losses import deep_supervision_loss
from trm.training.optim import build_optimizers

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _tiny(mixer: str) -> TRM:
    torch.manual_seed(0)
    cfg = ModelConfig(
        hidden_size=64, num_heads=4, num_layers=2, mixer=mixer, H_cycles=2, L_cycles=2, halt_max_steps=4,
        vocab_size=11, seq_len=81, num_puzzle_identifiers=3, puzzle_emb_len=16,
    )  # fmt: skip
    return TRM(cfg)


def _steps(model, batch, n=3):
    carry = model.initial_carry(batch)
    outs = []
    for _ in range(n):
        carry, out = model(carry, batch)
        outs.append(out.logits.float().cpu())
    return torch.stack(outs)


@pytest.mark.parametrize("mixer", ["mlp_t", "attention"])
def test_cuda_fp32_forward_as_close_to_float64_as_cpu(mixer):
    """fp32 on CUDA stays about as close to a float64 reference as fp32 on the CPU does.

    Comparing the two fp32 paths directly is too strict: three supervision steps of MLP-T's recursion
    carry either path's rounding to ~2e-4 on logits of magnitude ~4 (measured against float64), and the
    two paths round differently, so they can differ by up to twice that.
    """
    model = _tiny(mixer).eval()
    batch = random_batch(4, 0, 11, 81, 3)
    with torch.inference_mode():
        cpu = _steps(model, batch)
        ref = _steps(copy.deepcopy(model).double(), batch)
        model.cuda()
        gpu = _steps(model, {k: v.cuda() for k, v in batch.items()})
    cpu_err = (cpu - ref).abs().max().item()
    gpu_err = (gpu - ref).abs().max().item()
    print(f"{mixer}: max |fp32 - float64| cpu {cpu_err:.3g}, cuda {gpu_err:.3g}")
    assert gpu_err <= max(4 * cpu_err, 1e-4), f"cuda fp32 error {gpu_err:.3g} against cpu's {cpu_err:.3g}"
    torch.testing.assert_close(gpu, ref, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("mixer", ["mlp_t", "attention"])
def test_cuda_bf16_training_step_moves_weights(mixer):
    model = _tiny(mixer).cuda().train()
    batch = {k: v.cuda() for k, v in random_batch(8, 1, 11, 81, 3).items()}
    before = [p.detach().clone() for p in model.parameters()]
    opt, sparse_opt, _, _ = build_optimizers(model, TrainConfig(lr=1e-3))
    carry = model.initial_carry(batch)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        carry, out = model(carry, batch)
    loss, _ = deep_supervision_loss(
        out.logits, carry.data["labels"], out.q_halt, halted=carry.halted, steps=carry.steps,
        global_batch_size=8, kind="stablemax", q_loss_weight=0.5,
    )  # fmt: skip
    loss.backward()
    opt.step()
    sparse_opt.step(carry.data["puzzle_identifiers"])
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_cuda_compiled_equals_eager():
    model = _tiny("mlp_t").cuda().eval()
    batch = {k: v.cuda() for k, v in random_batch(4, 2, 11, 81, 3).items()}
    with torch.inference_mode():
        eager = _steps(model, batch)
        compiled = _steps(torch.compile(model), batch)
    torch.testing.assert_close(compiled, eager, atol=1e-3, rtol=1e-3)


def test_trainer_runs_on_cuda(tmp_path):
    from trm.config import load_recipe
    from trm.data.sudoku.build_generated import build_from_generator
    from trm.training.loop import train

    build_from_generator(tmp_path / "data", size=4, train_count=64, test_count=16, num_aug=2, seed=0)
    config = load_recipe("quickstart", overrides={
        "out_dir": str(tmp_path / "run"), "data.path": str(tmp_path / "data"), "train.device": "cuda",
        "train.max_minutes": None, "train.max_steps": 20, "train.global_batch_size": 16, "train.log_every": 5,
    })  # fmt: skip
    result = train(config, progress=False)
    assert result.step == 20
    assert 0.0 <= result.metrics["exact_accuracy"] <= 1.0
