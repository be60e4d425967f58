"""The ``sudoku9_cpu`` recipe's curve: held-out exact accuracy of 9x9 Sudoku against training time on a CPU.

Builds generated minimal 9x9 puzzles (unless ``--data`` already holds them), trains the recipe within
``--minutes`` of wall clock (the cosine schedule spans that budget), then evaluates every checkpoint the
run saved (``train.checkpoint_every``; EMA weights, all supervision steps) on the held-out puzzles. The
evaluations run after training, so they cost the budget nothing. The points before the last are not what
a shorter budget would give (their learning rate had not decayed yet); the last one is the recipe's result.

    .venv/bin/python benchmarks/sudoku9_cpu.py                        # 30 minutes, the recipe's budget
    .venv/bin/python benchmarks/sudoku9_cpu.py --minutes 2 --train-count 500 --out /tmp/s9   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from trm.checkpoints.run_dir import load_for_inference, load_training_state
from trm.config import load_recipe
from trm.data.format import open_split
from trm.data.sudoku.build import build_from_generator
from trm.device import cpu_has_native_bf16
from trm.evaluation.evaluate import evaluate
from trm.training.loop import train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/sudoku9_cpu"), help="run folder (replaced)")
    ap.add_argument("--data", type=Path, default=Path("data/sudoku9"), help="dataset (built if absent)")
    ap.add_argument("--minutes", type=float, default=30.0, help="training wall-clock budget")
    ap.add_argument("--train-count", type=int, default=5000)
    ap.add_argument("--test-count", type=int, default=500)
    ap.add_argument("--num-aug", type=int, default=16)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("overrides", nargs="*", help="recipe overrides, e.g. model.hidden_size=128")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    if not (args.data / "test" / "metadata.json").exists():
        report = build_from_generator(args.data, size=9, train_count=args.train_count,
                                      test_count=args.test_count, num_aug=args.num_aug, seed=0,
                                      force=True, workers=torch.get_num_threads())  # fmt: skip
        print(f"data: {report.counts} in {report.seconds:.0f} s")
    overrides = [f"out_dir={args.out}", f"data.path={args.data}", f"train.max_minutes={args.minutes}",
                 "train.device=cpu", *args.overrides]  # fmt: skip
    config = load_recipe("sudoku9_cpu", overrides=overrides)
    if args.out.exists():
        import shutil

        shutil.rmtree(args.out)
    result = train(config, progress=sys.stderr.isatty())
    test = open_split(args.data, "test")

    rows = []
    for step_dir in sorted((args.out / "checkpoints").glob("step_*")):
        seconds = float(load_training_state(step_dir)["training_seconds"])  # our own run's state
        model, cfg, _ = load_for_inference(step_dir, device="cpu")
        m = evaluate(model, test, batch_size=cfg.eval.batch_size, device="cpu").metrics
        rows.append(
            (seconds / 60, int(step_dir.name.split("_")[1]), m["exact_accuracy"], m["token_accuracy"])
        )

    kind = "native bf16 (AVX512-BF16/AMX)" if cpu_has_native_bf16() else "no native bf16"
    print(f"\nsudoku9_cpu on {platform.processor() or platform.machine()} ({kind}), "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")  # fmt: skip
    print("\n| minutes | step | held-out exact | token |\n|---:|---:|---:|---:|")
    for minutes, step, exact, token in rows:
        print(f"| {minutes:.1f} | {step:,} | {exact:.1%} | {token:.1%} |")
    print(f"\nfinal: {result.metrics.get('exact_accuracy', float('nan')):.1%} held-out exact after "
          f"{result.step:,} steps; whole command {(time.perf_counter() - t0) / 60:.1f} min")  # fmt: skip
    print(f"reproduce: python {shlex.join(sys.argv)}")
    (args.out / "curve.json").write_text(json.dumps({"rows": rows, "final": result.metrics}, indent=2) + "\n")


if __name__ == "__main__":
    main()
