"""``trm convert``: a checkpoint in a published layout (reference ``step_N`` + ``all_config.yaml``,
``X.pt`` + ``X.yaml``, a Lightning ``last.ckpt``, ...) -> a trm run dir."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trm.cli.checkpoint_args import CHECKPOINT_HELP, ArchConfigOption, ArchOption, StepOption


def convert(
    path: Annotated[str, typer.Argument(help=CHECKPOINT_HELP)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run dir to write (config.yaml + checkpoints/).")],
    task: Annotated[
        str | None, typer.Option(help="sudoku, maze, arc or your own; when the shapes do not tell.")
    ] = None,
    seq_len: Annotated[
        int | None,
        typer.Option(min=1, help="Cells per puzzle, when neither the weights nor dataset.json say."),
    ] = None,
    vocab_size: Annotated[
        int | None, typer.Option(min=1, help="Must match the weights; a check, never a change.")
    ] = None,
    arch: ArchOption = None,
    arch_config: ArchConfigOption = None,
    step: StepOption = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace a run dir that already holds checkpoints.")
    ] = False,
) -> None:
    """Convert a checkpoint in a published layout into a normal trm run dir that every command accepts."""
    from trm.checkpoints import latest_checkpoint, load_for_inference
    from trm.checkpoints.resolve import convert as convert_checkpoint
    from trm.checkpoints.resolve import reference_options
    from trm.models import count_parameters

    if latest_checkpoint(out) is not None and not overwrite:
        raise typer.BadParameter(f"{out} already holds checkpoints; pass --overwrite", param_hint="--out")
    options = reference_options(task=task, seq_len=seq_len, vocab_size=vocab_size)
    step_dir = convert_checkpoint(path, out, options, step=step, arch=arch, arch_config=arch_config)
    model, config, meta = load_for_inference(step_dir, device="cpu")
    m = config.model
    typer.echo(f"{path} -> {step_dir}")
    typer.echo(f"  weights: {meta.build.get('weights', 'the file state dict')}")
    typer.echo(
        f"  {m.arch} ({m.mixer}), d={m.hidden_size}, T={m.H_cycles}, n={m.L_cycles}, "
        f"N_sup={m.halt_max_steps}, {count_parameters(model):,} parameters"
    )
    typer.echo(
        f"  task {meta.task}: grid {meta.grid_shape[0]}x{meta.grid_shape[1]}, seq_len {meta.seq_len}, "
        f"vocab {meta.vocab_size}, {meta.num_puzzle_identifiers} puzzle identifiers"
    )
