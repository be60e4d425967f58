"""How much of a step is matrix products: the step's own products replayed alone, against the step.

For each (recipe, dtype, training step or batch-1 inference step) the script records every product one
step runs (``mm``, ``addmm``, ``bmm``, ``baddbmm`` and CPU SDPA, forward and backward, with their
shapes, strides and dtypes, through a ``TorchDispatchMode``), then times in one process, alternating:

- the whole step (our trainer's, ``train_throughput.trm_step`` / ``trm_infer_step``);
- the replay: the same products in the same order on random operands of the same layout. Outputs are
  fresh tensors kept until the replay ends (as autograd keeps a step's activations); ``out=`` and
  in-place products write into one buffer per layout, as the step's own buffers do.

The replay is the step's floor on this machine at this arithmetic: a step cannot take less than its
products unless the products themselves get faster. With a peer's time per step from
``benchmarks/compare.py`` this says what a target ratio would need: ``peer / ratio`` against the floor.

    .venv/bin/python benchmarks/matmul_floor.py --configs sudoku_mlp,sudoku_att --dtypes float32,bfloat16 \\
        --threads 2
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import DTYPES, _timed, machine, run_config, trm_infer_step, trm_step  # noqa: E402

aten = torch.ops.aten
PRODUCTS = {aten.mm, aten.addmm, aten.addmm_, aten.bmm, aten.baddbmm, aten.baddbmm_,
            aten._scaled_dot_product_flash_attention_for_cpu,
            aten._scaled_dot_product_flash_attention_for_cpu_backward}  # fmt: skip
Spec = tuple[tuple[int, ...], tuple[int, ...], torch.dtype]


class Layout:
    """A recorded operand: shape, strides and dtype (a leaf for ``tree_map``, unlike a tuple)."""

    def __init__(self, t: torch.Tensor) -> None:
        self.spec: Spec = (tuple(t.shape), tuple(t.stride()), t.dtype)


class Recorder(TorchDispatchMode):
    """Keeps (op overload, args and kwargs with every tensor replaced by its layout) for each product."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[torch._ops.OpOverload, tuple, dict]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 (torch's signature)
        kwargs = kwargs or {}
        if func.overloadpacket in PRODUCTS:
            as_layout = lambda x: Layout(x) if isinstance(x, torch.Tensor) else x  # noqa: E731
            self.calls.append((func, tree_map(as_layout, args), tree_map(as_layout, kwargs)))
        return func(*args, **kwargs)


def record(step: Callable[[], None]) -> list[tuple[torch._ops.OpOverload, tuple, dict]]:
    """The products of one call of ``step`` (backward included: autograd's thread inherits the mode)."""
    with Recorder() as rec:
        step()
    return rec.calls


def replay_fn(calls: list) -> Callable[[], None]:
    """A closure running ``calls`` on random operands: one tensor per layout, fresh outputs kept alive."""
    gen = torch.Generator().manual_seed(0)
    pool: dict[Spec, torch.Tensor] = {}

    def tensor(spec: Spec) -> torch.Tensor:
        if spec not in pool:
            shape, stride, dtype = spec
            t = torch.empty_strided(shape, stride, dtype=dtype)
            t.copy_(torch.randn(shape, generator=gen).mul_(0.1).to(dtype))
            pool[spec] = t
        return pool[spec]

    def make(x):  # noqa: ANN001, ANN202
        return tensor(x.spec) if isinstance(x, Layout) else x

    bound = [(func, tree_map(make, args), tree_map(make, kwargs)) for func, args, kwargs in calls]

    def replay() -> None:
        kept = [func(*args, **kwargs) for func, args, kwargs in bound]
        del kept

    return replay


def products_flops(replay: Callable[[], None]) -> float:
    """FLOPs of one run of ``replay`` by torch's FLOP counter (the products, SDPA included)."""
    with FlopCounterMode(display=False) as counter:
        replay()
    return float(counter.get_total_flops())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="sudoku_mlp,sudoku_att", help="recipes, comma-separated")
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--kinds", default="train,infer", help="train (batch --batch), infer (batch 1)")
    ap.add_argument("--batch", type=int, default=64, help="training batch")
    ap.add_argument("--repeats", type=int, default=3, help="timed rounds of (step, replay)")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(machine())
    rows = []
    for name in args.configs.split(","):
        config = run_config(name)
        for dtype_name in args.dtypes.split(","):
            dtype = DTYPES[dtype_name]
            for kind in args.kinds.split(","):
                if kind == "train":
                    step = trm_step(config, args.batch, dtype)
                else:
                    step = trm_infer_step(config, 1, dtype)
                step()  # warm-up (buffers, caches)
                calls = record(step)
                replay = replay_fn(calls)
                flops = products_flops(replay)  # also the replay's warm-up
                steps, replays = [], []
                for _ in range(args.repeats):  # alternate, so drift moves both alike
                    steps.append(_timed(step) * 1e3)
                    replays.append(_timed(replay) * 1e3)
                step_ms, replay_ms = statistics.median(steps), statistics.median(replays)
                rows.append((name, dtype_name, f"{kind} b{args.batch if kind == 'train' else 1}", len(calls),
                             step_ms, replay_ms, flops / replay_ms / 1e6))  # fmt: skip
                print(f"  {rows[-1][:3]}: step {step_ms:.1f} ms, products {replay_ms:.1f} ms", flush=True)
    print("\n| recipe | dtype | step | products | step ms | products alone ms | share | products GFLOP/s |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for name, dt, kind, n, s, r, g in rows:
        print(f"| {name} | {dt} | {kind} | {n} | {s:.1f} | {r:.1f} | {r / s:.0%} | {g:.1f} |")
    print("\nreproduce: .venv/bin/python " + shlex.join(["benchmarks/matmul_floor.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
