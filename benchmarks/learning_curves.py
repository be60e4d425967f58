"""Time to accuracy: held-out accuracy against minutes of training on this machine, one task per run.

For each task this runs what a user types (the data builder, then ``trm train --recipe R`` with a
wall-clock budget and a checkpoint every ``--every`` steps), then evaluates every saved checkpoint (EMA
weights, all supervision steps) on the held-out split. The evaluations run after training, so they cost
the budget nothing. The cosine schedule spans the whole budget: a point before the last is a model whose
learning rate had not decayed yet, so it is a lower bound of what a run with that shorter budget gives;
the last point is the recipe's result for the budget.

    .venv/bin/python benchmarks/learning_curves.py --task sudoku6 --minutes 4
    .venv/bin/python benchmarks/learning_curves.py --task sudoku9 --minutes 30
    .venv/bin/python benchmarks/learning_curves.py --task maze:9 --minutes 25       # or maze:11
    .venv/bin/python benchmarks/learning_curves.py --task maze:11 --mix 7,9,11 --minutes 30
    .venv/bin/python benchmarks/learning_curves.py --task rule:gravity --minutes 5     # 6x6 boards
    .venv/bin/python benchmarks/learning_curves.py --task rule:life:8 --minutes 5      # 8x8 boards
    .venv/bin/python benchmarks/learning_curves.py --task sudoku6 --minutes 0.3 --small   # smoke run

``--mix SIDES`` (maze tasks only) builds the training mazes with ``trm data maze --mix-sizes SIDES``:
smaller mazes embedded in walls on the task's board, test mazes unchanged; the run and data folders
get a ``-mixSIDES`` suffix, so a pure dataset is never reused for a mixed run.

Prints a table (minutes, step, held-out exact, token accuracy, the task's own metrics such as a maze's
valid shortest paths, and for Sudoku the exact accuracy on the hardest tenth by the generator's rating),
writes ``curve.json`` and ``curve.png`` in the run folder, and the command that reproduced it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from trm.checkpoints.run_dir import load_for_inference, load_training_state
from trm.data.format import open_split
from trm.data.loader import make_batch
from trm.device import cpu_has_native_bf16
from trm.evaluation.evaluate import evaluate
from trm.scoring import score_predictions

# task -> (data builder arguments after `trm data`, with {out}, recipe, checkpoint interval in steps)
TASKS: dict[str, tuple[list[str], str, int]] = {
    "sudoku6": (["sudoku", "{out}", "-s", "generate", "--size", "6", "--train-count", "4000",
                 "--test-count", "500", "--num-aug", "16", "--min-blanks", "18"], "quickstart", 250),
    "sudoku9": (["sudoku", "{out}", "-s", "generate", "--size", "9", "--train-count", "5000",
                 "--test-count", "500", "--num-aug", "16"], "sudoku9_cpu", 1000),
    "maze": (["maze", "{out}", "-s", "generate", "--size", "{size}", "--train-count", "4000",
                "--test-count", "200", "--augment"], "maze_cpu", 1000),
    "rule": (["example", "{rule}", "--out", "{out}", "--size", "{size}"], "grid_tiny", 300),
}  # fmt: skip
SMALL = {"--train-count": "300", "--test-count": "50"}  # --small: a smoke run of the same commands


def task_spec(task: str, out: Path, small: bool, mix: str | None = None) -> tuple[list[str], str, int]:
    """The builder's argv (after ``trm data``), the recipe and the checkpoint interval for ``task``
    (``mix``: the maze builder's ``--mix-sizes``)."""
    key, _, rest = task.partition(":")
    rule, _, size = rest.partition(":") if key == "rule" else ("", "", rest or "9")
    if key not in TASKS or (key == "rule") != bool(rule) or not (size or "6").isdigit():
        sys.exit(f"--task {task!r}: expected one of sudoku6, sudoku9, maze[:SIDE], rule:NAME[:SIZE]")
    args, recipe, every = TASKS[key]
    argv = [a.format(out=out, rule=rule, size=size or "6") for a in args]
    if mix is not None:
        if key != "maze":
            sys.exit(f"--mix {mix}: only maze tasks mix sizes (got --task {task})")
        argv += ["--mix-sizes", mix]
    if small:
        for flag, value in SMALL.items():
            argv = [*argv, flag, value] if flag not in argv else argv
            argv[argv.index(flag) + 1] = value
    return argv, recipe, every


def trm(*argv: str) -> None:
    """Run ``python -m trm ARGV`` as a user would, failing loudly."""
    cmd = [sys.executable, "-m", "trm", *argv]
    print("$ trm " + shlex.join(argv), flush=True)
    subprocess.run(cmd, check=True)


def hardest_tenth(root: Path, n: int) -> np.ndarray | None:
    """Indices of the test puzzles rated at or above the 90th-percentile rating (ties included: 65 of
    the 500 generated 9x9 puzzles). Where that takes more than a quarter of the set (6x6: 477 of 500
    puzzles rate 0, so the percentile is the lowest rating), the puzzles rated above it instead. None
    when the split has no ratings or nothing is rated above the rest."""
    path = root / "test" / "ratings.npy"
    if not path.exists():
        return None
    ratings = np.load(path, allow_pickle=False)
    if len(ratings) != n or (ratings < 0).all():
        return None
    threshold = np.quantile(ratings, 0.9)
    hard = np.flatnonzero(ratings >= threshold)
    if len(hard) > n // 4:
        hard = np.flatnonzero(ratings > threshold)
    return hard if len(hard) else None


def curve_rows(run: Path, data: Path) -> list[dict]:
    """Evaluate every checkpoint of ``run`` on the test split; one row per checkpoint, in step order."""
    test = open_split(data, "test")
    labels = make_batch(test, np.arange(test.num_examples))["labels"].numpy()  # the ignored label mapped
    hard = hardest_tenth(data, len(labels))
    rows = []
    steps = sorted((run / "checkpoints").glob("step_*"), key=lambda p: int(p.name.split("_")[1]))
    for step_dir in steps:
        seconds = float(load_training_state(step_dir)["training_seconds"])  # our own run's state
        model, cfg, _ = load_for_inference(step_dir, device="cpu")
        res = evaluate(model, test, batch_size=cfg.eval.batch_size, device="cpu", return_predictions=True)
        m = res.metrics
        row = {"minutes": seconds / 60, "step": int(step_dir.name.split("_")[1]),
               "exact": m["exact_accuracy"], "token": m["token_accuracy"]}  # fmt: skip
        row.update({k: v for k, v in m.items() if k.startswith("valid_")})
        if hard is not None:
            exact, _ = score_predictions(res.predictions, labels)  # predictions in example order
            row["hardest_tenth_exact"] = float(exact[hard].mean())
        rows.append(row)
    return rows


def print_table(rows: list[dict]) -> None:
    extra = [k for k in rows[0] if k not in ("minutes", "step", "exact", "token")] if rows else []
    print("\n| minutes | step | held-out exact | token |" + "".join(f" {k} |" for k in extra))
    print("|---:|---:|---:|---:|" + "---:|" * len(extra))
    for r in rows:
        cells = [f"{r['minutes']:.1f}", f"{r['step']:,}", f"{r['exact']:.1%}", f"{r['token']:.1%}"]
        print("| " + " | ".join(cells + [f"{r[k]:.1%}" for k in extra]) + " |")


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    minutes = [r["minutes"] for r in rows]
    for key, label in (("exact", "held-out exact"), ("valid_shortest_path", "valid shortest path"),
                       ("hardest_tenth_exact", "hardest tenth, exact")):  # fmt: skip
        if rows and key in rows[0]:
            ax.plot(minutes, [r[key] for r in rows], marker="o", label=label)
    ax.set(xlabel="minutes of training", ylabel="accuracy", ylim=(0, 1), title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", required=True, help="sudoku6, sudoku9, maze[:SIDE], rule:NAME[:SIZE]")
    ap.add_argument("--minutes", type=float, required=True, help="training wall-clock budget")
    ap.add_argument("--out", type=Path, default=None, help="run folder (replaced); default runs/curve-TASK")
    ap.add_argument("--data", type=Path, default=None, help="dataset folder (built if absent)")
    ap.add_argument("--every", type=int, default=None, help="checkpoint interval in steps")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the trainer's auto)")
    ap.add_argument("--small", action="store_true", help="tiny datasets: a smoke run of the same commands")
    ap.add_argument("--mix", default=None, help="maze tasks: training maze sides, e.g. 7,9,11 (--mix-sizes)")
    ap.add_argument("overrides", nargs="*", help="recipe overrides, e.g. model.hidden_size=96")
    args = ap.parse_args()
    name = args.task.replace(":", "-") + (f"-mix{args.mix.replace(',', '-')}" if args.mix else "")
    out = args.out or Path(f"runs/curve-{name}")
    data = args.data or Path(f"data/curve-{name}{'-small' if args.small else ''}")
    builder, recipe, every = task_spec(args.task, data, args.small, args.mix)
    t0 = time.perf_counter()
    if not (data / "test" / "metadata.json").exists():
        trm("data", *builder)
    if out.exists():
        shutil.rmtree(out)
    threads = [f"train.threads={args.threads}"] if args.threads else []
    budget = [f"train.max_minutes={args.minutes}", "train.max_steps=1000000", "train.target_accuracy=null"]
    budget.append(f"train.checkpoint_every={args.every or every}")
    trm("train", "--recipe", recipe, "--no-progress", f"data.path={data}", f"out_dir={out}", *budget,
        "train.device=cpu", *threads, *args.overrides)  # fmt: skip
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = curve_rows(out, data)
    kind = "native bf16 (AVX512-BF16/AMX)" if cpu_has_native_bf16() else "no native bf16, fp32"
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores ({kind}), "
               f"torch {torch.__version__}, load {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    label = args.task + (f" mix {args.mix}" if args.mix else "")
    print(f"\n{label}, recipe {recipe}, {args.minutes:g} min budget; {machine}")
    print_table(rows)
    result = {"task": args.task, "mix": args.mix, "recipe": recipe, "machine": machine, "rows": rows}
    (out / "curve.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(rows, out / "curve.png", f"{label} ({recipe}), 2-core CPU" if os.cpu_count() == 2 else label)
    print(f"\ncurve: {out / 'curve.json'}, {out / 'curve.png'}; whole command "
          f"{(time.perf_counter() - t0) / 60:.1f} min")  # fmt: skip
    print("reproduce: .venv/bin/python " + shlex.join(["benchmarks/learning_curves.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
