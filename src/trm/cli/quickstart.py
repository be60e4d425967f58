"""``trm quickstart``: from nothing to a trained, evaluated, visualised tiny TRM on a CPU.

1. generate a 6x6 Sudoku dataset (minimal puzzles, unique solutions, >= 18 blanks; held-out test set),
2. train the ``quickstart`` recipe (a tiny MLP-T TRM) within a wall-clock budget,
3. evaluate on the held-out puzzles (all supervision steps, accuracy after each step),
4. solve one held-out puzzle step by step, and draw it (PNG, GIF) with the training curves.

Everything lands under ``--out``. What the recipe reaches, measured: README, "Start here".
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer


def quickstart(
    out: Annotated[Path, typer.Option(help="Folder for the dataset, checkpoints and pictures.")] = Path(
        "runs/quickstart"
    ),
    minutes: Annotated[float, typer.Option(min=0.05, help="Training wall-clock budget (minutes).")] = 3.5,
    train_puzzles: Annotated[int, typer.Option(min=1, help="Distinct generated training puzzles.")] = 4000,
    test_puzzles: Annotated[int, typer.Option(min=1, help="Held-out puzzles for evaluation.")] = 500,
    num_aug: Annotated[int, typer.Option(min=0, help="Augmented variants stored per training puzzle.")] = 16,
    min_blanks: Annotated[int, typer.Option(min=1, help="Every puzzle has at least this many blanks.")] = 18,
    seed: Annotated[int, typer.Option(help="Seed of the data and of the training run.")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda | mps")] = "auto",
    fresh: Annotated[bool, typer.Option(help="Delete an earlier quick-start in --out first.")] = False,
    override: Annotated[
        list[str] | None,
        typer.Argument(help="Extra recipe overrides, e.g. model.hidden_size=96", show_default=False),
    ] = None,
) -> None:
    """Build a small 6x6 Sudoku set, train a tiny TRM on it, evaluate, solve one puzzle, draw pictures."""
    import shutil

    import numpy as np
    from rich.console import Console

    from trm.config import load_recipe
    from trm.data.format import open_split
    from trm.data.sudoku.build import build_from_generator
    from trm.inference.solver import Solver
    from trm.training.loop import train
    from trm.viz.plots import training_curves_png
    from trm.viz.render import refinement_gif, refinement_png, trace_text

    console = Console()
    t0 = time.perf_counter()
    if fresh and out.exists():
        shutil.rmtree(out)
    data = out / "data"
    if (data / "test" / "metadata.json").exists():
        console.print(f"[bold]1/4 data[/]: reusing {data}")
    else:
        console.print(
            f"[bold]1/4 data[/]: generating {train_puzzles} + {test_puzzles} 6x6 puzzles into {data}"
        )
        report = build_from_generator(
            data,
            size=6,
            train_count=train_puzzles,
            test_count=test_puzzles,
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
        "train.max_minutes": minutes,
        "train.seed": seed,
        "train.device": device,
    }
    config = load_recipe("quickstart", overrides=overrides)  # a ConfigError: one line, exit 2 (trm.cli)
    if override:
        from trm.config import apply_overrides, build_config

        config = build_config(
            apply_overrides(config.model_dump(mode="json"), list(override)), where="quickstart"
        )
    has_ckpt = (out / "checkpoints" / "latest").exists()
    console.print(f"[bold]2/4 train[/]: {minutes:g} min budget, logs in {out}/metrics.jsonl")
    result = train(config, resume=has_ckpt)

    console.print("[bold]3/4 evaluate[/] (held-out puzzles, every supervision step):")
    m = result.metrics
    steps = sorted(int(k.rsplit("_", 1)[1]) for k in m if k.startswith("exact_accuracy_step_"))
    per_step = "  ".join(f"{k}:{m[f'exact_accuracy_step_{k}']:.3f}" for k in steps)
    console.print(f"      exact accuracy {m.get('exact_accuracy', float('nan')):.4f}   per step {per_step}")

    test = open_split(data, "test")
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
        "train_steps": result.step,
        "seconds": round(time.perf_counter() - t0, 1),
        "checkpoint": str(result.checkpoint),
        "solved_example_valid": solution.valid,
    }
    (out / "quickstart.json").write_text(json.dumps(summary, indent=2) + "\n")
    console.print(f"pictures in {pics}; summary in {out / 'quickstart.json'}; total {summary['seconds']}s")
