"""``trm train``: train a recipe, with ``key=value`` overrides; ``--resume`` continues a run. Without
``--recipe``, ``--data D`` chooses one from the dataset (:mod:`trm.recipes.choose`)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from trm.cli.threads_arg import ThreadsOption

EPILOG = (
    "Examples:\n\n"
    "  trm train --data data/rule       (chooses the recipe from the dataset; docs/recipes.md)\n\n"
    "  trm train --data data/sudoku9 --minutes 10\n\n"
    "  trm train --recipe quickstart\n\n"
    "  trm train --recipe sudoku_mlp data.path=data/sudoku train.max_steps=1000 out_dir=runs/try\n\n"
    "  trm train --recipe sudoku_mlp --resume      (continue the newest checkpoint in out_dir)\n\n"
    "Multi-GPU: torchrun --nproc_per_node=4 -m trm train --recipe sudoku_mlp"
)


def train(
    recipe: Annotated[
        str | None,
        typer.Option(
            "--recipe",
            "-r",
            help="Recipe name (see `trm recipes`) or path to a recipe YAML file; "
            "default: chosen from --data's metadata.",
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "-d",
            help="Dataset folder (sets data.path). Without --recipe, the recipe is chosen from its task, "
            "grid size and the device, and the run goes to runs/<folder name>.",
        ),
    ] = None,
    minutes: Annotated[
        float | None,
        typer.Option(
            "--minutes",
            min=0.01,
            help="Training time budget: sets train.max_minutes and drops the step plan (the cosine "
            "schedule spans the minutes).",
        ),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Argument(
            help="Config overrides as key=value, e.g. train.lr=3e-4 train.max_steps=500 data.path=data/x.",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue from the newest checkpoint in out_dir (weights, optimizers, data, RNG).",
        ),
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show the progress bar.")] = True,
    threads: ThreadsOption = "",
) -> None:
    """Train a model: deep supervision with adaptive halting, EMA, checkpoints and periodic evaluation.

    Writes config.yaml, metrics.jsonl, tensorboard/ and checkpoints/ under the recipe's out_dir.
    Ctrl-C stops after the current step and writes a checkpoint; --resume continues from it.
    """
    user = [*(overrides or []), *([f"train.threads={threads}"] if threads else [])]
    fixed: dict[str, Any] = {"train.max_minutes": minutes, "train.max_steps": None} if minutes else {}
    if recipe is None:
        from trm.errors import ConfigError  # reported by the command group: one line, exit 2
        from trm.recipes.choose import choose, read_dataset

        if data is None:
            raise ConfigError("give --recipe NAME, or --data DATASET to choose the recipe from the data")
        meta, has_val = read_dataset(data)
        choice = choose(meta, data, device=_device(user), minutes=minutes, has_val=has_val)
        for line in choice.reason:
            typer.echo(line)
        recipe, fixed = choice.recipe, {**choice.overrides, **fixed}
    elif data is not None:
        fixed["data.path"] = str(data)
    config = _config(recipe, fixed, user)
    from trm.training.loop import TrainingInterrupted
    from trm.training.loop import train as run_training

    out = config.out_dir
    typer.echo(
        f"run {config.name}: logs {out}/metrics.jsonl, {out}/tensorboard; checkpoints {out}/checkpoints"
    )
    try:
        result = run_training(config, resume=resume, progress=progress)
    except TrainingInterrupted as e:
        typer.echo(f"interrupted; checkpoint: {e.checkpoint}; continue with --resume", err=True)
        raise typer.Exit(130) from None
    typer.echo(f"stopped ({result.stopped}) at step {result.step:,}, epoch {result.epoch:,.2f}")
    if result.metrics:
        typer.echo(
            f"eval: exact_accuracy {result.metrics['exact_accuracy']:.2%}, "
            f"token_accuracy {result.metrics['token_accuracy']:.2%}"
        )
    typer.echo(f"checkpoint: {result.checkpoint}")


def _config(recipe: str, fixed: dict[str, Any], user: list[str]):
    """The recipe, then ``fixed`` (from --data and --minutes), then the user's ``key=value`` overrides."""
    from trm.config import apply_overrides, build_config, load_recipe

    raw = apply_overrides(load_recipe(recipe).model_dump(mode="json"), fixed)
    return build_config(apply_overrides(raw, user), where=str(recipe))


def _device(user: list[str]) -> str:
    """The device type the run will use: ``train.device`` among the overrides, else ``auto`` resolved."""
    from trm.config import apply_overrides
    from trm.device import pick_device

    requested = apply_overrides({}, user).get("train", {}).get("device", "auto")
    return pick_device(str(requested)).type


train.__doc__ = inspect.cleandoc(train.__doc__ or "") + "\n\n" + EPILOG
