"""The two example grid tasks end to end: generate, build, train the ``grid_tiny`` recipe, evaluate held out.

For each task this runs what the README's "Your own task" shows (``trm data example``, ``trm data grids``
with the task's suggested augmentation, ``trm train --recipe grid_tiny``), through the library's functions,
and prints one table row: canvas, optimizer steps, wall and CPU seconds of training, held-out exact and
token accuracy, and what copying the input scores on the same examples (exact and token). The budget is
in optimizer steps (``--steps``), so a shared machine changes the times, not the accuracy.

    .venv/bin/python benchmarks/grid_examples.py                       # life 6x6, gravity <= 5x5, 400 steps
    .venv/bin/python benchmarks/grid_examples.py --steps 20 --num 200  # smoke run
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import trm
from trm.config import load_recipe
from trm.data.format import open_split
from trm.data.grid.augment import parse_augment
from trm.data.grid.build import GridOptions, build_grids
from trm.data.grid.examples import generate, write_jsonl

TASKS = {  # name -> (generator options, build options), as the README ("Your own task")
    "life": ({"size": 6}, {"augment": parse_augment("dihedral")}),
    "gravity": ({"max_size": 5}, {"augment": parse_augment("symbols"), "fixed_symbols": ("0",)}),
}


def copy_scores(root: Path) -> tuple[float, float]:
    """(exact, token accuracy) of answering every test question with itself, on the scored label cells."""
    test = open_split(root, "test")
    inputs, labels = np.asarray(test.inputs), np.asarray(test.labels)
    scored = labels != 0
    right = (inputs == labels) & scored
    return float((right.sum(1) == scored.sum(1)).mean()), float((right.sum(1) / scored.sum(1)).mean())


def run(name: str, out: Path, *, num: int, steps: int, lr: float | None, seed: int) -> dict[str, float]:
    gen, build = TASKS[name]
    src = write_jsonl(out / f"{name}.jsonl", generate(name, num, seed=seed, **gen))
    meta = build_grids(out / name, src, GridOptions(seed=seed, **build), force=True).metadata["test"]
    overrides = {"out_dir": str(out / f"run_{name}"), "data.path": str(out / name), "train.max_steps": steps}
    if lr is not None:
        overrides["train.lr"] = lr
    cfg = load_recipe("grid_tiny", overrides=overrides)
    wall, cpu = time.perf_counter(), time.process_time()
    metrics = trm.train(cfg, progress=False).metrics
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    copy_exact, copy_token = copy_scores(out / name)
    rows, cols = meta.grid_shape
    return {"canvas": f"{rows}x{cols}", "steps": steps, "wall_s": wall, "cpu_s": cpu, **metrics,
            "copy_exact": copy_exact, "copy_token": copy_token}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/grid_examples"))
    ap.add_argument("--tasks", default="life,gravity")
    ap.add_argument("--num", type=int, default=2000, help="examples per task (10%% held out)")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--lr", type=float, default=None, help="default: the recipe's")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print("| task | canvas | steps | train wall s | train CPU s | exact | token | copy exact | copy token |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.tasks.split(","):
        r = run(name, args.out, num=args.num, steps=args.steps, lr=args.lr, seed=args.seed)
        print(
            f"| {name} | {r['canvas']} | {r['steps']} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | "
            f"{r['exact_accuracy']:.1%} | {r['token_accuracy']:.1%} | "
            f"{r['copy_exact']:.1%} | {r['copy_token']:.1%} |"
        )
    lr = "" if args.lr is None else f" --lr {args.lr}"
    print(f"\nreproduce: .venv/bin/python benchmarks/grid_examples.py --tasks {args.tasks} --num {args.num} "
          f"--steps {args.steps}{lr} --seed {args.seed}")  # fmt: skip


if __name__ == "__main__":
    main()
