"""What ``torch.compile`` buys on this machine: eager against compiled, training and inference, with
the compile time and the number of steps that pays it back.

Per recipe and dtype, two kinds of step: a training step as the trainer runs it (``train.compile``
compiles the recursion networks in place; ``train_throughput.trm_step``) at ``--batch``, and one
supervision step without gradient at batch 1 (the solver's, the page's), its networks compiled the
same way. Each is timed eager, compiled, then eager again in one process (the second eager run shows
how much the machine drifted meanwhile); "compile s" is the first compiled call's wall time less one
compiled step (what compiling cost), "pays back after" the steps at which the compiled run catches up
with eager (compile s / the time a compiled step saves; "never" when it saves none).

    .venv/bin/python benchmarks/compile_gain.py --configs sudoku9_cpu,quickstart --dtypes float32,bfloat16
    .venv/bin/python benchmarks/compile_gain.py --configs sudoku_mlp,sudoku_att --steps 3 --infer-steps 3
"""

from __future__ import annotations

import argparse
import functools
import shlex
import statistics
import sys
import time
from collections.abc import Callable

import torch

from train_throughput import DTYPES, machine, run_config, time_steps, trm_infer_step, trm_step


def first_and_median(step: Callable[[], None], steps: int) -> tuple[float, float]:
    """(the first call's wall seconds, the median of ``steps`` calls after one more untimed)."""
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    return first, statistics.median(time_steps(step, steps, warmup=1))


def row(label: str, make: Callable[..., Callable[[], None]], steps: int) -> str:
    """One table row: ``make(compile=...)`` builds the step."""
    _, eager = first_and_median(make(compile=False), steps)
    torch._dynamo.reset()  # a fresh cache per row: the rows compile the same Block.forward on other models
    first, compiled = first_and_median(make(compile=True), steps)
    _, eager_again = first_and_median(make(compile=False), steps)
    base = (eager + eager_again) / 2
    compile_s = max(first - compiled, 0.0)
    saved = base - compiled
    payback = f"{compile_s / saved:,.0f} steps" if saved > 0 else "never"
    return (
        f"| {label} | {1000 * eager:.1f} / {1000 * eager_again:.1f} | {1000 * compiled:.1f} | "
        f"{base / compiled:.2f}x | {compile_s:.1f} | {payback} |"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", default="sudoku9_cpu,quickstart", help="recipes, comma-separated")
    p.add_argument("--dtypes", default="float32,bfloat16")
    p.add_argument("--batch", type=int, default=64, help="training slots per step")
    p.add_argument("--steps", type=int, default=20, help="timed training steps per run (median)")
    p.add_argument("--infer-steps", type=int, default=20, help="timed inference steps per run (median)")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"machine: {machine()}\n")
    print("| recipe, dtype, step | eager ms (then again) | compiled ms | speed-up | compile s | pays back |")
    print("|---|---:|---:|---:|---:|---:|")
    for recipe in [c for c in args.configs.split(",") if c]:
        config = run_config(recipe)
        for name in [d for d in args.dtypes.split(",") if d]:
            dtype = DTYPES[name]
            train = functools.partial(trm_step, config, args.batch, dtype)
            print(row(f"{recipe}, {name}, train b{args.batch}", train, args.steps), flush=True)
            infer = functools.partial(trm_infer_step, config, 1, dtype)
            print(row(f"{recipe}, {name}, infer b1", infer, args.infer_steps), flush=True)
    print("\nreproduce: " + shlex.join([".venv/bin/python", "benchmarks/compile_gain.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
