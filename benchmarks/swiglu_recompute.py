"""The SwiGLU gradient's two ways, each in its own processes: save silu(gate) and the product, or
recompute them.

``trm.models.kernels.SwiGLUFn`` saves x, gate and up, and recomputes silu(gate) and the hidden product
in the backward where the [N, inter] tensors reach ``RECOMPUTE_MIN_BYTES`` (8 MiB). This script times
one training step (``train_throughput.trm_step``: what the trainer does per optimizer step) of a
recipe with every SwiGLU on one path, then on the other, alternating fresh processes round by round:
a process's memory (glibc's heap, its mmap threshold, the pages it has faulted in) is part of what
the change moves, so the two modes never share one. It reports the median seconds per step, the
peak resident memory and the minor page faults of each process (warm-up included).

    .venv/bin/python benchmarks/swiglu_recompute.py --cases quickstart:64,sudoku9_cpu:64,sudoku_mlp:32
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

MODES = {"saved": 1 << 62, "recomputed": 0}  # RECOMPUTE_MIN_BYTES of each mode


def child(recipe: str, batch: int, mode: str, steps: int, threads: int) -> None:
    """Time ``steps`` steps after one warm-up step with every SwiGLU on ``mode``; print one JSON line."""
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from train_throughput import run_config, trm_step
    from trm.models import kernels

    torch.set_num_threads(threads)
    kernels.RECOMPUTE_MIN_BYTES = MODES[mode]
    step = trm_step(run_config(recipe), batch, torch.float32)
    step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {"s": statistics.median(times), "rss_gb": usage.ru_maxrss / 2**20, "faults": usage.ru_minflt}
        )
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="quickstart:64,sudoku9_cpu:64,sudoku_mlp:32", help="recipe:batch,...")
    p.add_argument("--rounds", type=int, default=3, help="processes per mode, alternating")
    p.add_argument("--steps", type=int, default=0, help="timed steps per process (0: 20 small, 2 paper)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--child", nargs=3, metavar=("RECIPE", "BATCH", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        recipe, batch, mode = args.child
        return child(recipe, int(batch), mode, args.steps, args.threads)
    print(f"fp32, {args.threads} threads, {args.rounds} processes per mode (medians)")
    print("recipe       batch       mode   s/step  peak GB     faults  saved/rec.")
    for case in args.cases.split(","):
        recipe, batch = case.split(":")
        steps = args.steps or (2 if recipe.startswith("sudoku_") else 20)
        runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
        for _ in range(args.rounds):
            for mode in MODES:
                cmd = [sys.executable, __file__, "--child", recipe, batch, mode]
                cmd += ["--steps", str(steps), "--threads", str(args.threads)]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                runs[mode].append(json.loads(out.strip().splitlines()[-1]))
        med = {m: {k: statistics.median(r[k] for r in runs[m]) for k in runs[m][0]} for m in MODES}
        for mode in MODES:
            ratio = f"{med['saved']['s'] / med['recomputed']['s']:.3f}" if mode == "recomputed" else ""
            row = med[mode]
            cells = f"{row['s']:8.3f} {row['rss_gb']:8.2f} {row['faults']:10.0f}"
            print(f"{recipe:12s} {batch:>5s} {mode:>10s} {cells}  {ratio}")
            print(" " * 29 + "runs: " + ", ".join(f"{r['s']:.3f}" for r in runs[mode]))
    rest = shlex.join(argv if argv is not None else sys.argv[1:])
    print(f"reproduce: python benchmarks/swiglu_recompute.py {rest}")


if __name__ == "__main__":
    main()
