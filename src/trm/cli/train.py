"""``trm train``: train a recipe, with ``key=value`` overrides; ``--resume`` continues a run."""

from __future__ import annotations

import inspect
from typing import Annotated

import typer

from trm.cli.threads_arg import ThreadsOption

EPILOG = (
    "Examples:\n\n"
    "  trm train --recipe quickstart\n\n"
    "  trm train --recipe sudoku_mlp data.path=data/sudoku train.max_steps=1000 out_dir=runs/try\n\n"
    "  trm train --recipe sudoku_mlp --resume      (continue the newest checkpoint in out_dir)\n\n"
    "Multi-GPU: torchrun --nproc_per_node=4 -m trm train --recipe sudoku_mlp"
)


def train(
    recipe: Annotated[
        str,
        typer.Option("--recipe", "-r", help="Recipe name (see `trm recipes`) or path to a recipe YAML file."),
    ],
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
    from trm.config import load_recipe  # a ConfigError is reported by the command group (one line, exit 2)

    config = load_recipe(recipe, [*(overrides or []), *([f"train.threads={threads}"] if threads else [])])
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


train.__doc__ = inspect.cleandoc(train.__doc__ or "") + "\n\n" + EPILOG
