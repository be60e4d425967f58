"""``trm quickstart``: from nothing to a trained, evaluated, visualised tiny TRM on a CPU.

``--task`` picks the task (:mod:`trm.cli.quickstart_tasks`: 6x6 Sudoku by default, 9x9 Sudoku, 9x9
mazes, or your own grid examples); the four steps are the same for each:

1. build the dataset (for 6x6 Sudoku: minimal puzzles, unique solutions, >= 18 blanks) with a held-out
   test set and a validation set that decides when training may stop,
2. train the recipe the data chooses (:mod:`trm.recipes.choose`; 6x6 Sudoku: ``quickstart``, a tiny
   MLP-T TRM). Training stops once the model solves the task's target share of the validation set
   (checked from half the plan or half the time budget on), or at the end of its budget: for 6x6
   Sudoku a plan of steps, not of minutes, so a slow or busy machine trains longer instead of ending
   with a worse model (going on to 1.5x the plan while the target is missed); ``--minutes`` is a hard
   cap on top. The other tasks have a time budget (their recipes were measured that way),
3. evaluate on the held-out test set (all supervision steps, accuracy after each step),
4. solve one held-out example step by step, and draw it (PNG, GIF) with the training curves.

Everything lands under ``--out``. What the recipes reach, measured: README, "Start here",
docs/speed.md, docs/grid.md and docs/recipes.md.
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from trm.cli.quickstart_tasks import DEFAULT_TASK, TASKS, Counts, QuickTask, parse_task
from trm.cli.threads_arg import ThreadsOption

TARGET = TASKS[DEFAULT_TASK].target  # the 6x6 validation puzzles' share; the test accuracy sits about there
# Training examples/s of the recipe on an idle 2-core Xeon (fp32, 2 threads; docs/speed.md): a guide only.
EXPECTED_EXAMPLES_PER_S = TASKS[DEFAULT_TASK].expected_examples_per_s


class SpeedNote:
    """After the first ~100 steps (the thread probe done), says once how fast this machine trains,
    against the expectation (when one was measured), and the time the rest will take at that speed."""

    def __init__(
        self,
        planned_steps: int | None,
        batch: int,
        cap_minutes: float | None,
        say,
        *,
        expected: float | None = EXPECTED_EXAMPLES_PER_S,
        target: float = TARGET,
        noun: str = "puzzles",
        user_cap: bool = True,
    ):
        self.planned, self.batch, self.cap, self.say = planned_steps, batch, cap_minutes, say
        self.expected, self.target, self.noun, self.user_cap = expected, target, noun, user_cap
        self.t0, self.done, self.rate = time.monotonic(), False, None

    def __call__(self, step: int, metrics: dict[str, Any]) -> None:
        if self.done or step < 100:
            return
        self.done = True
        self.rate = metrics.get("examples_per_s", 0.0)
        if not self.rate:
            return
        speed = f"this machine did {self.rate:,.0f} examples/s"
        if self.expected and self.expected / self.rate >= 1.5:
            ratio = self.expected / self.rate
            speed += f", ~{ratio:.1f}x fewer than expected ({self.expected:g} on an idle 2-core machine)"
        plan = f"training until the model solves {self.target:.0%} of the validation {self.noun}"
        if self.planned is None:
            self.say(f"      {speed}; {plan}" + (f" (at most {self.cap:g} min)" if self.cap else ""))
            return
        rest_min = (self.planned - step) * self.batch / self.rate / 60
        plan += f" (at most {self.planned:,} steps: ~{rest_min:.1f} more minutes at this speed)"
        if self.cap is not None:
            left = self.cap - (time.monotonic() - self.t0) / 60
            if rest_min > left:
                cap = (
                    f"the --minutes {self.cap:g} cap" if self.user_cap else f"the {self.cap:g}-minute budget"
                )
                plan += f"; {cap} will stop it first"
        self.say(f"      {speed}; {plan}")


def _outcome(
    stopped: str,
    step: int,
    val: float,
    minutes: float | None,
    *,
    target: float = TARGET,
    noun: str = "puzzles",
    user_cap: bool = True,
) -> str:
    """Why training stopped, in words: the target, the plan, the task's time budget or the user's cap."""
    got = f"the model solves {val:.1%} of the validation {noun}"
    if stopped == "target_accuracy":
        return f"stopped at step {step:,}: {got} (target {target:.0%})"
    if stopped == "max_minutes" and user_cap:
        return (
            f"the --minutes {minutes:g} cap stopped training at step {step:,}, before the target: {got}. "
            "The cap, not the method, limited this result; run without --minutes for a trained model"
        )
    if stopped == "max_minutes":
        ended = f"the {minutes:g}-minute budget ended training at step {step:,}"
        return f"{ended}: {got} (target {target:.0%} not reached)"
    return f"trained all {step:,} planned steps: {got} (target {target:.0%} not reached)"


def quickstart(
    task: Annotated[
        str,
        typer.Option(
            help="sudoku6 (~4 min on 2 cores), sudoku9 (30 min), maze (9x9, 12 min) or grid:FILE "
            "(your examples as `trm data grids` reads them, 6 min).",
        ),
    ] = DEFAULT_TASK,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the dataset, checkpoints and pictures [default: runs/quickstart[-TASK]]."
        ),
    ] = None,
    minutes: Annotated[
        float | None,
        typer.Option(
            min=0.05,
            help="Hard cap on training time (minutes); default: the task's (sudoku6: until the target).",
        ),
    ] = None,
    train_puzzles: Annotated[
        int | None, typer.Option(min=1, help="Training puzzles or mazes [default: 4000; sudoku9: 5000].")
    ] = None,
    test_puzzles: Annotated[int | None, typer.Option(min=1, help="Held-out examples [default: 500].")] = None,
    val_puzzles: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Held-out examples that decide when training has reached the target "
            "[default: 300; grid: a tenth of the examples without a split].",
        ),
    ] = None,
    num_aug: Annotated[
        int | None, typer.Option(min=0, help="Sudoku: augmented variants per training puzzle [default: 16].")
    ] = None,
    min_blanks: Annotated[
        int | None, typer.Option(min=1, help="Sudoku: every puzzle has at least this many blanks [6x6: 18].")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the data and of the training run.")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda | mps")] = "auto",
    fresh: Annotated[bool, typer.Option(help="Delete an earlier quick-start in --out first.")] = False,
    threads: ThreadsOption = "auto",
    override: Annotated[
        list[str] | None,
        typer.Argument(help="Extra recipe overrides, e.g. model.hidden_size=96", show_default=False),
    ] = None,
) -> None:
    """Build a small dataset (6x6 Sudoku unless --task says otherwise), train a tiny TRM on it, evaluate,
    solve one held-out example, draw pictures."""  # the tasks' budgets are appended below
    import shutil

    from rich.console import Console

    from trm.config import load_recipe
    from trm.data.format import open_split
    from trm.device import pick_device
    from trm.recipes.choose import choose

    qt, file = parse_task(task)
    given = Counts(train_puzzles, test_puzzles, val_puzzles, num_aug, min_blanks, seed)
    counts = qt.counts(given)
    out = out or qt.default_out
    console = Console()
    t0 = time.perf_counter()
    if fresh and out.exists():
        shutil.rmtree(out)
    data = out / "data"
    if _reusable(data, qt, file):
        console.print(f"[bold]1/4 data[/]: reusing {data}")
    else:
        report = qt.build(data, counts, file, lambda m: console.print(f"[bold]1/4 data[/]: {m}"))
        console.print(f"      {report}")

    choice = choose(open_split(data, "train").metadata, data, device=pick_device(device).type)
    if not qt.as_before:
        console.print(f"      {choice.reason[0]}")
    overrides = {
        **choice.overrides,
        "out_dir": str(out),
        "data.path": str(data),
        "data.eval_split": "val",  # the trainer evaluates (and stops) on validation; the test set is step 3
        "train.max_minutes": minutes or qt.minutes,
        "train.target_accuracy": qt.target,
        "train.target_every": qt.target_every,
        "train.seed": seed,
        "train.device": device,
        "train.threads": threads,
    }
    config = load_recipe(choice.recipe, overrides=overrides)  # a ConfigError: one line, exit 2 (trm.cli)
    if override:
        from trm.config import apply_overrides, build_config

        config = build_config(
            apply_overrides(config.model_dump(mode="json"), list(override)), where="quickstart"
        )
    result, val, rate = _train(config, qt, minutes, console)
    m, solution, n_test = _evaluate_and_solve(config, result.checkpoint, data, qt, device, threads, console)
    steps = sorted(int(k.rsplit("_", 1)[1]) for k in m if k.startswith("exact_accuracy_step_"))
    summary = {
        "exact_accuracy": m.get("exact_accuracy"),
        "exact_accuracy_per_step": {k: m[f"exact_accuracy_step_{k}"] for k in steps},
        "validation_exact_accuracy": val,
        "train_steps": result.step,
        "stopped": result.stopped,
        "examples_per_s": rate,
        "seconds": round(time.perf_counter() - t0, 1),
        "checkpoint": str(result.checkpoint),
        "solved_example_valid": solution.valid,
    }
    if not qt.as_before:
        summary.update(task=qt.name, recipe=choice.recipe, test_examples=n_test)
        summary.update({k: m[k] for k in qt.extra_metrics if k in m})
    from trm.data.format import atomic_write_text

    pics = out / "pictures"
    atomic_write_text(out / "quickstart.json", json.dumps(summary, indent=2) + "\n")
    console.print(f"pictures in {pics}; summary in {out / 'quickstart.json'}; total {summary['seconds']}s")


def _reusable(data: Path, qt: QuickTask, file: Path | None) -> bool:
    """True when ``data`` holds a complete dataset of this task (an earlier quick-start's)."""
    from trm.data.format import open_split

    if not all((data / s / "metadata.json").exists() for s in ("train", "test", "val")):
        return False
    return qt.fits(open_split(data, "train").metadata, file)


def _train(config: Any, qt: QuickTask, minutes: float | None, console: Any) -> tuple[Any, float, Any]:
    """Step 2: train until the target on the validation split, the plan's end or the budget."""
    from tqdm.auto import tqdm

    from trm.training.loop import train

    tc = config.train
    planned = tc.max_steps
    if planned:
        config = config.model_copy(
            update={
                "train": tc.model_copy(update={"target_max_steps": tc.target_max_steps or planned * 3 // 2})
            }
        )
    has_ckpt = (Path(config.out_dir) / "checkpoints" / "latest").exists()
    cap = tc.max_minutes
    if planned:
        limit = f"{planned:,} steps planned" + (f", at most {cap:g} min" if cap else "")
        limit += " (--minutes)" if minutes and cap else ""
    else:
        limit = f"{cap:g} min" + (" (--minutes)" if minutes else "")
    console.print(
        f"[bold]2/4 train[/]: {limit}; stops when the model solves {qt.target:.0%} "
        f"of the validation {qt.noun}; logs in {config.out_dir}/metrics.jsonl"
    )
    note = SpeedNote(
        planned,
        tc.global_batch_size,
        cap,
        lambda m: tqdm.write(m, file=sys.stderr),
        expected=qt.expected_examples_per_s,
        target=qt.target,
        noun=qt.noun,
        user_cap=bool(minutes),
    )
    result = train(config, resume=has_ckpt, on_log=note)
    val = float(result.metrics.get("exact_accuracy", 0.0))
    words = _outcome(
        result.stopped, result.step, val, cap, target=qt.target, noun=qt.noun, user_cap=bool(minutes)
    )
    console.print(f"      {words}")
    return result, val, note.rate


def _evaluate_and_solve(
    config: Any, checkpoint: Path, data: Path, qt: QuickTask, device: str, threads: str, console: Any
) -> tuple[dict[str, float], Any, int]:
    """Steps 3 and 4: evaluate on the test split; solve, show and draw one held-out example."""
    import numpy as np

    from trm.checkpoints import load_any
    from trm.data.format import open_split
    from trm.device import pick_dtype
    from trm.evaluation.evaluate import evaluate
    from trm.inference.solver import Solver
    from trm.threads import tuned_forward
    from trm.viz.plots import training_curves_png
    from trm.viz.render import refinement_gif, refinement_png, trace_text

    console.print(f"[bold]3/4 evaluate[/] (held-out test {qt.noun}, every supervision step):")
    test = open_split(data, "test")
    model, _, _ = load_any(checkpoint, device=device)
    dev = next(model.parameters()).device
    with tuned_forward(model, threads, dev.type):
        m = evaluate(model, test, batch_size=config.eval.batch_size, device=dev,
                     dtype=pick_dtype(dev, config.train.dtype)).metrics  # fmt: skip
    steps = sorted(int(k.rsplit("_", 1)[1]) for k in m if k.startswith("exact_accuracy_step_"))
    per_step = "  ".join(f"{k}:{m[f'exact_accuracy_step_{k}']:.3f}" for k in steps)
    console.print(f"      exact accuracy {m.get('exact_accuracy', float('nan')):.4f}   per step {per_step}")
    for key in qt.extra_metrics:
        if key in m:
            console.print(f"      {key.replace('_', ' ')} {m[key]:.4f}")

    solver = Solver.load(checkpoint)
    shape = test.metadata.grid_shape
    questions = [
        solver.task.decode(np.asarray(test.inputs[i]), shape) for i in range(min(16, len(test.inputs)))
    ]
    solutions = solver.solve_many(questions)
    shown = next((i for i, s in enumerate(solutions) if s.valid), 0)  # show a success when there is one
    solution = solutions[shown]
    console.print(f"[bold]4/4 solve[/] a held-out {qt.one} step by step (test {qt.one} #{shown}):")
    console.print(trace_text(solution))
    n_test = test.num_examples
    wrong = round((1.0 - float(m.get("exact_accuracy", 0.0))) * n_test)
    console.print(f"      the model got {wrong} of the {n_test} held-out {qt.noun} wrong (evaluation above)")
    out = Path(config.out_dir)
    pics = out / "pictures"
    pics.mkdir(parents=True, exist_ok=True)
    refinement_png(solution, pics / "refinement.png")
    refinement_gif(solution, pics / "refinement.gif")
    training_curves_png(out / "metrics.jsonl", pics / "training_curves.png")
    return m, solution, n_test


quickstart.__doc__ = (
    inspect.cleandoc(quickstart.__doc__ or "")
    + "\n\n\b\nTasks (--task) and their default training budgets:\n"
    + "\n".join(f"  {t.name + (':FILE' if t.name == 'grid' else ''):<10} {t.budget}" for t in TASKS.values())
)
