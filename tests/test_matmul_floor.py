"""benchmarks/matmul_floor.py: the recorded products are all of a step's arithmetic, and they replay."""

import importlib.util
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from trm.models import flops_per_step


def _load_benchmark():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "matmul_floor.py"
    spec = importlib.util.spec_from_file_location("trm_benchmark_matmul_floor", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mf = _load_benchmark()


def test_recorded_products_carry_the_whole_steps_flops_and_replay():
    tt = sys.modules["train_throughput"]  # the benchmark's own helpers, imported by it
    config = tt.run_config("quickstart")
    train = tt.trm_step(config, 4, torch.float32)
    train()
    calls = mf.record(train)  # forward and backward: autograd's thread sees the mode
    assert mf.products_flops(mf.replay_fn(calls)) == flops_per_step(config, 4)
    infer = tt.trm_infer_step(config, 1, torch.float32)
    infer()
    with FlopCounterMode(display=False) as counter:
        infer()
    infer_calls = mf.record(infer)
    assert 0 < len(infer_calls) < len(calls)
    assert mf.products_flops(mf.replay_fn(infer_calls)) == counter.get_total_flops()
