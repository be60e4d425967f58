"""Training throughput: examples/s and achieved GFLOP/s of one training supervision step, beside the
machine's measured matmul peak.

A "step" is what the trainer does per optimizer step (``trm.training.loop.Trainer._train_step``):
one model call (one supervision step, T(n+1) network calls) on the persistent carry under the run's
autocast dtype, the deep-supervision loss, backward, the weights' optimizer (the recipe's
Adam-atan2 or AdamW), sign-SGD on the puzzle-embedding rows, and the EMA update. Batches are random
tokens of the task's shape (vocab 11, 81 cells + the 16-position prefix for Sudoku), so no data set
is needed and nothing stalls on loading. FLOPs come from ``trm.models.flops_per_step`` (matmul
FLOPs, checked against ``torch.utils.flop_counter`` in the tests); GFLOP/s = FLOPs / median step time.

The matmul peak is measured in the same process, with the same threads: the best of a few
``[batch * 97, 512] x [512, 3072]`` products (the shape of the paper model's SwiGLU up-projection)
in fp32 and bf16. "% of peak" divides the step's GFLOP/s by the peak of its dtype. On CPUs without
AVX512_BF16/AMX, bf16 matmuls are emulated (slower than fp32) and ``pick_dtype`` would choose fp32;
the bf16 rows are then shown for completeness only.

    .venv/bin/python benchmarks/train_throughput.py                       # paper configs, batch 64
    .venv/bin/python benchmarks/train_throughput.py --configs quickstart --dtypes float32 --steps 20
    .venv/bin/python benchmarks/train_throughput.py --batch 8 --steps 2 --warmup 1 --threads 2

``compare.py`` reuses ``trm_step``, ``time_steps`` and ``matmul_peak`` from here.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable

import torch

from trm.config import ModelConfig, RunConfig, load_recipe
from trm.device import autocast, cpu_has_native_bf16, pick_device
from trm.models import build_model, flops_per_step
from trm.training.ema import EMA
from trm.training.losses import deep_supervision_loss
from trm.training.optim import build_optimizers

# Task shapes the benchmark fills in (the recipes leave them to the data set): (vocab, seq_len).
SHAPES = {"sudoku_mlp": (11, 81), "sudoku_att": (11, 81), "quickstart": (8, 36)}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def run_config(recipe: str) -> RunConfig:
    """The recipe with vocab/seq filled for its task and one shared puzzle identifier."""
    config = load_recipe(recipe, [])
    vocab, seq = SHAPES.get(recipe, SHAPES["sudoku_mlp"])
    model = config.model.model_copy(update={"vocab_size": vocab, "seq_len": seq, "num_puzzle_identifiers": 1})
    return config.model_copy(update={"model": model})


def random_batch(model: ModelConfig, batch: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    assert model.vocab_size is not None and model.seq_len is not None
    shape = (batch, model.seq_len)
    return {
        "inputs": torch.randint(1, model.vocab_size, shape, generator=gen, dtype=torch.int32),
        "labels": torch.randint(1, model.vocab_size, shape, generator=gen, dtype=torch.int32),
        "puzzle_identifiers": torch.zeros(batch, dtype=torch.int32),
    }


def trm_step(
    config: RunConfig, batch: int, dtype: torch.dtype, compile: bool = False, device: str = "cpu"
) -> Callable[[], None]:
    """A closure running one training supervision step of our trainer (see the module docstring)."""
    torch.manual_seed(0)
    tc = config.train
    device = torch.device(device)
    model = build_model(config).to(device).train()
    fwd = model
    if compile:
        from trm.training.loop import _compiled  # the trainer's own compile (sparse embedding left eager)

        fwd = _compiled(model)
    opt, sparse_opt, _, _ = build_optimizers(model, tc)
    ema = EMA(model, tc.ema_rate) if tc.ema else None
    gen = torch.Generator().manual_seed(0)
    batches = [random_batch(model.config, batch, gen) for _ in range(4)]
    batches = [{k: v.to(device) for k, v in b.items()} for b in batches]
    state = {"carry": model.initial_carry(batches[0]), "i": 0}

    def step() -> None:
        data = batches[state["i"] % len(batches)]
        state["i"] += 1
        with autocast(device, dtype):
            carry, out = fwd(state["carry"], data)
        loss, _ = deep_supervision_loss(
            out.logits, carry.data["labels"], out.q_halt, halted=carry.halted, steps=carry.steps,
            global_batch_size=batch, kind=tc.loss, q_loss_weight=tc.q_loss_weight,
            q_continue=out.q_continue, target_q_continue=out.target_q_continue,
        )  # fmt: skip
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if sparse_opt is not None:
            sparse_opt.step(carry.data["puzzle_identifiers"])
            sparse_opt.zero_grad(set_to_none=True)
        if ema is not None:
            ema.update(model)
        state["carry"] = carry

    return step


def trm_infer_step(
    config: RunConfig, batch: int, dtype: torch.dtype, device: str = "cpu", compile: bool = False
) -> Callable[[], None]:
    """A closure running one supervision step without gradient (eval mode) on a persistent carry;
    ``compile``: the recursion networks compiled as the trainer compiles them."""
    torch.manual_seed(0)
    model = build_model(config).to(device).eval()
    if compile:
        from trm.training.loop import _compiled

        _compiled(model)
    data = {
        k: v.to(device)
        for k, v in random_batch(model.config, batch, torch.Generator().manual_seed(0)).items()
    }
    state = {"carry": model.initial_carry(data)}

    @torch.no_grad()
    def step() -> None:
        with autocast(torch.device(device), dtype):
            state["carry"], _ = model(state["carry"], data)

    return step


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def time_steps(step: Callable[[], None], steps: int, warmup: int) -> list[float]:
    """Wall-clock seconds of each of ``steps`` steps after ``warmup`` untimed ones (GPU synchronised)."""
    for _ in range(warmup):
        step()
    _sync()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        _sync()
        times.append(time.perf_counter() - start)
    return times


def matmul_peak(rows: int, dtype: torch.dtype, repeats: int = 3, device: str = "cpu") -> float:
    """Best GFLOP/s of a [rows, 512] x [512, 3072] product in ``dtype`` (after one warm-up)."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(rows, 512, generator=gen).to(device=device, dtype=dtype)
    b = torch.randn(512, 3072, generator=gen).to(device=device, dtype=dtype)
    a @ b
    if device != "cpu":  # many repeats: one GPU product takes microseconds
        repeats = max(repeats, 20)
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * rows * 512 * 3072 / best / 1e9


def _timed(fn: Callable[[], object]) -> float:
    _sync()
    start = time.perf_counter()
    fn()
    _sync()
    return time.perf_counter() - start


def machine(device: str = "cpu") -> str:
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name()}; torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    bf16 = "native bf16" if cpu_has_native_bf16() else "no AVX512_BF16/AMX: bf16 emulated"
    return f"{cpu}, {torch.get_num_threads()} threads, {bf16}; torch {torch.__version__}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--batch", type=int, default=64, help="slots per step (default 64)")
    p.add_argument("--steps", type=int, default=3, help="timed steps (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--configs", default="sudoku_mlp,sudoku_att", help="recipes, comma-separated")
    p.add_argument("--dtypes", default="float32,bfloat16", help="float32,bfloat16")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (as train.compile)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto (default cpu)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown:
        raise SystemExit(f"unknown dtype(s) {unknown}; choose from {sorted(DTYPES)}")
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    device = str(pick_device(args.device))

    peak_rows = args.batch * 97
    peaks = {name: matmul_peak(peak_rows, DTYPES[name], device=device) for name in DTYPES}
    print(f"machine: {machine(device)}")
    print(
        f"matmul peak ([{peak_rows}, 512] x [512, 3072]): fp32 {peaks['float32']:.1f} GFLOP/s, "
        f"bf16 {peaks['bfloat16']:.1f} GFLOP/s"
    )
    header = f"{'config':<12} {'dtype':<9} {'batch':>5} {'step s':>8} "
    header += f"{'examples/s':>10} {'GFLOP/s':>8} {'% peak':>7}"
    print(header)
    print("-" * len(header))
    for recipe in configs:
        config = run_config(recipe)
        flops = flops_per_step(config, args.batch)
        for name in dtypes:
            step = trm_step(config, args.batch, DTYPES[name], compile=args.compile, device=device)
            seconds = statistics.median(time_steps(step, args.steps, args.warmup))
            gflops = flops / seconds / 1e9
            print(
                f"{recipe:<12} {name:<9} {args.batch:>5} {seconds:>8.3f} {args.batch / seconds:>10.2f} "
                f"{gflops:>8.1f} {100 * gflops / peaks[name]:>6.1f}%",
                flush=True,
            )
    print(f"\nFLOPs per step (trm.models.flops_per_step): {', '.join(configs)}; compile={args.compile}")
    print("reproduce: " + shlex.join([".venv/bin/python", "benchmarks/train_throughput.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
