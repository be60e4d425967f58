"""A fingerprint of a tiny seeded training run, to show that a refactoring of the trainer changed nothing.

Trains the ``quickstart`` recipe (6x6 Sudoku) on a small generated dataset on the CPU with one thread,
a target-accuracy stop that extends the run past its plan, periodic checkpoints, and a stop plus resume
in the middle; then prints one JSON object: each metrics record (timing fields dropped), the result,
and SHA-256 digests of the final weights and EMA weights. Run it before and after a change and compare:

    PYTHONPATH=src .venv/bin/python benchmarks/train_fingerprint.py --out /tmp/fp > before.json
    PYTHONPATH=src .venv/bin/python benchmarks/train_fingerprint.py --out /tmp/fp > after.json
    cmp before.json after.json

The same run without the resume is trained too and must give the same digests (resume is exact).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from trm.checkpoints.run_dir import latest_checkpoint
from trm.config import load_recipe
from trm.data.sudoku.build_generated import build_from_generator
from trm.training.logging import read_metrics
from trm.training.loop import train

TIMING = ("examples_per_s", "train_seconds", "seconds", "puzzles_per_second")  # wall clock: differ per run


def _digest(path: Path) -> str:
    """SHA-256 over the tensors of a safetensors file (names, dtypes, shapes, bytes) in name order."""
    h = hashlib.sha256()
    for name, t in sorted(load_file(str(path)).items()):
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _untimed(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in TIMING}


def _run(data: Path, out: Path, stop_at: int | None) -> dict:
    overrides = {
        "out_dir": str(out),
        "data.path": str(data),
        "data.eval_split": "val",
        "model.hidden_size": 32,  # the recipe's model, smaller: the check runs in a minute or so
        "model.num_heads": 2,
        "train.device": "cpu",
        "train.threads": 1,
        "train.global_batch_size": 16,
        "train.max_steps": 30,
        "train.lr_warmup_steps": 5,
        "train.log_every": 5,
        "train.checkpoint_every": 10,
        "train.target_accuracy": 0.99,  # not reached: checks every 5 steps from step 15, run extended
        "train.target_every": 5,
        "train.target_max_steps": 40,
        "eval.batch_size": 16,
        "logging.tensorboard": False,
    }
    config = load_recipe("quickstart", overrides=overrides)
    if stop_at is not None:
        first = train(config, stop_at_step=stop_at, progress=False)
        assert (first.step, first.stopped) == (stop_at, "stop_at_step"), first
    result = train(config, resume=stop_at is not None, progress=False)
    step_dir = latest_checkpoint(out)
    records = [_untimed(r) for r in read_metrics(out)]
    return {
        "result": {"step": result.step, "stopped": result.stopped, "metrics": _untimed(result.metrics)},
        "metrics": records,
        "checkpoint": step_dir.name,
        "weights": _digest(step_dir / "model.safetensors"),
        "ema": _digest(step_dir / "ema.safetensors"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="scratch folder (replaced)")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    data = args.out / "data"
    build_from_generator(data, size=6, train_count=64, test_count=8, val_count=16, num_aug=0, seed=0)
    split = _run(data, args.out / "split", stop_at=20)
    whole = _run(data, args.out / "whole", stop_at=None)
    same = all(split[k] == whole[k] for k in ("result", "metrics", "weights", "ema"))
    print(json.dumps({"resumed_equals_uninterrupted": same, **split}, indent=1))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
