"""``trm quickstart``: from nothing to a trained, evaluated, visualised tiny TRM on a CPU.

1. generate a 6x6 Sudoku dataset (minimal puzzles, unique solutions, >= 18 blanks; held-out test set,
   and a validation set that decides when training may stop),
2. train the ``quickstart`` recipe (a tiny MLP-T TRM): a plan of steps, not of minutes, so a slow or
   busy machine trains longer instead of ending with a worse model. Training stops once the model
   solves ``TARGET`` of the validation puzzles (checked every 100 steps from half the plan on), or
   after the planned steps (going on to 1.5x the plan while the target is missed); ``--minutes`` is a
   hard cap on top,
3. evaluate on the held-out test puzzles (all supervision steps, accuracy after each step),
4. solve one held-out puzzle step by step, and draw it (PNG, GIF) with the training curves.

Everything lands under ``--out``. What the recipe reaches, measured: README, "Start here", and
docs/speed.md.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from trm.cli.threads_arg import ThreadsOption

TARGET = 0.98  # of the validation puzzles; the test accuracy it gives sits about there (>= 97%)
# Training examples/s of the recipe on an idle 2-core Xeon (fp32, 2 threads; docs/speed.md): a guide only.
EXPECTED_EXAMPLES_PER_S = 536


class SpeedNote:
    """After the first ~100 steps (the thread probe done), says once how fast this machine trains,
    against the expectation, and the time the rest will take at that speed."""

    def __init__(self, planned_steps: int, batch: int, cap_minutes: float | None, say):
        self.planned, self.batch, self.cap, self.say = planned_steps, batch, cap_minutes, say
        self.t0, self.done, self.rate = time.monotonic(), False, None

    def __call__(self, step: int, metrics: dict[str, Any]) -> None:
        if self.done or step < 100:
            return
        self.done = True
        self.rate = metrics.get("examples_per_s", 0.0)
        if not self.rate:
            return
        rest_min = (self.planned - step) * self.batch / self.rate / 60
        ratio = EXPECTED_EXAMPLES_PER_S / self.rate
        speed = f"this machine did {self.rate:,.0f} examples/s"
        if ratio >= 1.5:
            speed += (
                f", ~{ratio:.1f}x fewer than expected ({EXPECTED_EXAMPLES_PER_S} on an idle 2-core machine)"
            )
        plan = (
            f"training until the model solves {TARGET:.0%} of the validation puzzles "
            f"(at most {self.planned:,} steps: ~{rest_min:.1f} more minutes at this speed)"
        )
        if self.cap is not None:
            left = self.cap - (time.monotonic() - self.t0) / 60
            if rest_min > left:
                plan += f"; the --minutes {self.cap:g} cap will stop it first"
        self.say(f"      {speed}; {plan}")


def _outcome(stopped: str, step: int, val: float, minutes: float | None) -> str:
    """Why training stopped, in words: the target, the plan, or the user's cap."""
    got = f"the model solves {val:.1%} of the validation puzzles"
    if stopped == "target_accuracy":
        return f"stopped at step {step:,}: {got} (target {TARGET:.0%})"
    if stopped == "max_minutes":
        return (
            f"the --minutes {minutes:g} cap stopped training at step {step:,}, before the target: {got}. "
            "The cap, not the method, limited this result; run without --minutes for a trained model"
        )
    return f"trained all {step:,} planned steps: {got} (target {TARGET:.0%} not reached)"


def quickstart(
    out: Annotated[Path, typer.Option(help="Folder for the dataset, checkpoints and pictures.")] = Path(
        "runs/quickstart"
    ),
    minutes: Annotated[
        float | None,
        typer.Option(min=0.05, help="Hard cap on training time (minutes); default: train until the target."),
    ] = None,
    train_puzzles: Annotated[int, typer.Option(min=1, help="Distinct generated training puzzles.")] = 4000,
    test_puzzles: Annotated[int, typer.Option(min=1, help="Held-out puzzles for evaluation.")] = 500,
    val_puzzles: Annotated[
        int, typer.Option(min=1, help="Held-out puzzles that decide when training has reached the target.")
    ] = 300,
    num_aug: Annotated[int, typer.Option(min=0, help="Augmented variants stored per training puzzle.")] = 16,
    min_blanks: Annotated[int, typer.Option(min=1, help="Every puzzle has at least this many blanks.")] = 18,
    seed: Annotated[int, typer.Option(help="Seed of the data and of the training run.")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda | mps")] = "auto",
    fresh: Annotated[bool, typer.Option(help="Delete an earlier quick-start in --out first.")] = False,
    threads: ThreadsOption = "auto",
    override: Annotated[
        list[str] | None,
        typer.Argument(help="Extra recipe overrides, e.g. model.hidden_size=96", show_default=False),
    ] = None,
) -> None:
    """Build a small 6x6 Sudoku set, train a tiny TRM on it, evaluate, solve one puzzle, draw pictures."""
    import shutil

    import numpy as np
    from rich.console import Console
    from tqdm.auto import tqdm

    from trm.checkpoints import load_any
    from trm.config import load_recipe
    from trm.data.format import open_split
    from trm.data.sudoku.build import build_from_generator
    from trm.device import pick_dtype
    from trm.evaluation.evaluate import evaluate
    from trm.inference.solver import Solver
    from trm.threads import tuned_forward
    from trm.training.loop import train
    from trm.viz.plots import training_curves_png
    from trm.viz.render import refinement_gif, refinement_png, trace_text

    console = Console()
    t0 = time.perf_counter()
    if fresh and out.exists():
        shutil.rmtree(out)
    data = out / "data"
    if (data / "test" / "metadata.json").exists() and (data / "val" / "metadata.json").exists():
        console.print(f"[bold]1/4 data[/]: reusing {data}")
    else:
        console.print(
            f"[bold]1/4 data[/]: generating {train_puzzles} + {test_puzzles} test + {val_puzzles} validation "
            f"6x6 puzzles into {data}"
        )
        report = build_from_generator(
            data,
            size=6,
            train_count=train_puzzles,
            test_count=test_puzzles,
            val_count=val_puzzles,
            num_aug=num_aug,
            min_blanks=min_blanks,
            seed=seed,
            force=True,
            progress=True,
            workers=min(8, os.cpu_count() or 1),
        )
        console.print(f"      {report.counts} in {report.seconds:.1f}s")

    overrides = {
        "out_dir": str(out),
        "data.path": str(data),
        "data.eval_split": "val",  # the trainer evaluates (and stops) on validation; the test set is step 3
        "train.max_minutes": minutes,
        "train.target_accuracy": TARGET,
        "train.target_every": 100,
        "train.seed": seed,
        "train.device": device,
        "train.threads": threads,
    }
    config = load_recipe("quickstart", overrides=overrides)  # a ConfigError: one line, exit 2 (trm.cli)
    if override:
        from trm.config import apply_overrides, build_config

        config = build_config(
            apply_overrides(config.model_dump(mode="json"), list(override)), where="quickstart"
        )
    tc = config.train
    planned = tc.max_steps or 0
    config = config.model_copy(
        update={"train": tc.model_copy(update={"target_max_steps": tc.target_max_steps or planned * 3 // 2})}
    )
    has_ckpt = (out / "checkpoints" / "latest").exists()
    cap = f", at most {minutes:g} min (--minutes)" if minutes else ""
    console.print(
        f"[bold]2/4 train[/]: {planned:,} steps planned{cap}; stops when the model solves {TARGET:.0%} "
        f"of the validation puzzles; logs in {out}/metrics.jsonl"
    )
    note = SpeedNote(planned, tc.global_batch_size, minutes, lambda m: tqdm.write(m, file=sys.stderr))
    result = train(config, resume=has_ckpt, on_log=note)
    val = float(result.metrics.get("exact_accuracy", 0.0))
    console.print(f"      {_outcome(result.stopped, result.step, val, minutes)}")

    console.print("[bold]3/4 evaluate[/] (held-out test puzzles, every supervision step):")
    test = open_split(data, "test")
    model, _, _ = load_any(result.checkpoint, device=device)
    dev = next(model.parameters()).device
    with tuned_forward(model, threads, dev.type):
        m = evaluate(model, test, batch_size=config.eval.batch_size, device=dev,
                     dtype=pick_dtype(dev, config.train.dtype)).metrics  # fmt: skip
    steps = sorted(int(k.rsplit("_", 1)[1]) for k in m if k.startswith("exact_accuracy_step_"))
    per_step = "  ".join(f"{k}:{m[f'exact_accuracy_step_{k}']:.3f}" for k in steps)
    console.print(f"      exact accuracy {m.get('exact_accuracy', float('nan')):.4f}   per step {per_step}")

    solver = Solver.load(result.checkpoint)
    shape = test.metadata.grid_shape
    questions = [
        solver.task.decode(np.asarray(test.inputs[i]), shape) for i in range(min(16, len(test.inputs)))
    ]
    solutions = solver.solve_many(questions)
    shown = next((i for i, s in enumerate(solutions) if s.valid), 0)  # show a success when there is one
    solution = solutions[shown]
    console.print(f"[bold]4/4 solve[/] a held-out puzzle step by step (test puzzle #{shown}):")
    console.print(trace_text(solution))
    n_test = test.num_examples
    wrong = round((1.0 - float(m.get("exact_accuracy", 0.0))) * n_test)
    console.print(f"      the model got {wrong} of the {n_test} held-out puzzles wrong (evaluation above)")
    pics = out / "pictures"
    pics.mkdir(parents=True, exist_ok=True)
    refinement_png(solution, pics / "refinement.png")
    refinement_gif(solution, pics / "refinement.gif")
    training_curves_png(out / "metrics.jsonl", pics / "training_curves.png")
    summary = {
        "exact_accuracy": m.get("exact_accuracy"),
        "exact_accuracy_per_step": {k: m[f"exact_accuracy_step_{k}"] for k in steps},
        "validation_exact_accuracy": val,
        "train_steps": result.step,
        "stopped": result.stopped,
        "examples_per_s": note.rate,
        "seconds": round(time.perf_counter() - t0, 1),
        "checkpoint": str(result.checkpoint),
        "solved_example_valid": solution.valid,
    }
    from trm.data.format import atomic_write_text

    atomic_write_text(out / "quickstart.json", json.dumps(summary, indent=2) + "\n")
    console.print(f"pictures in {pics}; summary in {out / 'quickstart.json'}; total {summary['seconds']}s")
