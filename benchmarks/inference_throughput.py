"""Inference throughput: puzzles/s and accuracy with the papers' fixed-step protocol and with early halting.

Runs ``trm.evaluation.evaluate`` on a checkpoint twice per batch size:

- ``all steps``: every puzzle runs ``--steps`` supervision steps (16 by default, the papers' protocol);
- ``early halt``: a slot stops at its first ``q_halt > 0`` (or after ``--steps``) and is refilled with
  the next puzzle (continuous batching), as ``trm eval --early-halt`` does.

Both under ``torch.inference_mode`` with the run's autocast dtype (``pick_dtype``: fp32 on CPUs without
native bf16). Without a checkpoint argument it makes one: generates a 6x6 Sudoku set
(``trm data sudoku ... -s generate --size 6``) and trains the quickstart recipe for
``--train-minutes`` (a tiny model; its halting head is weak at this scale, docs/design.md).

    .venv/bin/python benchmarks/inference_throughput.py                      # trains a tiny checkpoint first
    .venv/bin/python benchmarks/inference_throughput.py runs/quickstart --data runs/quickstart/data
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import torch

from trm.checkpoints.run_dir import load_for_inference, read_meta, resolve_step_dir
from trm.config import load_recipe
from trm.data.format import open_split
from trm.evaluation.evaluate import evaluate


def make_checkpoint(workdir: Path, minutes: float) -> tuple[Path, Path]:
    """(checkpoint folder, data folder): a generated 6x6 set and a quickstart run on it."""
    data, run = workdir / "data", workdir / "run"
    if not (data / "test").is_dir():
        cmd = [sys.executable, "-m", "trm", "data", "sudoku", str(data), "-s", "generate", "--size", "6",
               "--train-count", "1000", "--test-count", "300"]  # fmt: skip
        print("$ " + shlex.join(cmd), flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    if not run.is_dir():
        from trm.training.loop import train

        print(f"training the quickstart recipe for {minutes} min into {run}", flush=True)
        config = load_recipe(
            "quickstart",
            [
                f"data.path={data}",
                f"out_dir={run}",
                f"train.max_minutes={minutes}",
                "logging.tensorboard=false",
            ],
        )
        train(config, progress=False)
    return run, data


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", nargs="?", help="run folder or step folder (default: train a tiny one)")
    p.add_argument("--data", help="dataset folder (default: the checkpoint's data.path)")
    p.add_argument("--split", default="test")
    p.add_argument(
        "--steps", type=int, default=16, help="supervision steps of the fixed protocol (cap for early halt)"
    )
    p.add_argument("--batch-sizes", default="256,1024", help="comma-separated eval batch sizes")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N puzzles only")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--workdir", default="/tmp/trm_inference_bench", help="where a generated checkpoint goes")
    p.add_argument("--train-minutes", type=float, default=1.5)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.checkpoint:
        checkpoint, data = Path(args.checkpoint), args.data
    else:
        checkpoint, data = make_checkpoint(Path(args.workdir), args.train_minutes)
    model, config, _ = load_for_inference(checkpoint, device="cpu")
    data = Path(data or config.data.path or "")
    split = open_split(data, args.split)
    step_dir = resolve_step_dir(checkpoint)
    trained_steps = read_meta(step_dir).get("step", "?")
    print(f"checkpoint {step_dir} ({trained_steps} training steps), model N_sup={model.halt_max_steps}; "
          f"{split.path}; {torch.get_num_threads()} threads")  # fmt: skip

    header = f"{'mode':<11} {'batch':>6} {'puzzles':>7} {'puzzles/s':>10} "
    header += f"{'exact':>7} {'token':>7} {'mean steps':>10}"
    print(header)
    print("-" * len(header))
    for batch in [int(b) for b in args.batch_sizes.split(",") if b]:
        evaluate(model, split, batch_size=batch, device="cpu", halt_max_steps=1, limit=batch)  # warm-up
        for early in (False, True):
            result = evaluate(model, split, batch_size=batch, device="cpu", halt_max_steps=args.steps,
                              limit=args.limit, early_halt=early)  # fmt: skip
            m = result.metrics
            steps = m.get("mean_steps", float(args.steps))
            print(
                f"{'early halt' if early else 'all steps':<11} {batch:>6} {int(m['num_examples']):>7} "
                f"{m['puzzles_per_second']:>10.1f} {m['exact_accuracy']:>7.2%} {m['token_accuracy']:>7.2%} "
                f"{steps:>10.2f}",
                flush=True,
            )
    print(
        "reproduce: " + shlex.join([".venv/bin/python", "benchmarks/inference_throughput.py", *sys.argv[1:]])
    )


if __name__ == "__main__":
    main()
