"""``trm models``: the known pretrained checkpoints on the Hugging Face hub.

Printed as two lines per checkpoint (the spec to copy, then what it is), readable at any width.
"""

from __future__ import annotations

from typing import Annotated

import typer


def models(
    task: Annotated[str | None, typer.Option(help="Only this task (sudoku, maze, arc).")] = None,
) -> None:
    """List known hub checkpoints (reference format) with task, size and reported accuracy."""
    from trm.checkpoints.catalog import KNOWN

    typer.echo("Known checkpoints (accuracy as reported by their authors, not measured by trm):\n")
    for k in KNOWN:
        if task is None or k.task == task:
            typer.echo(k.spec)
            typer.echo(
                f"    {k.model}, {k.params} parameters, {k.task} ({k.benchmark}): {k.reported}, {k.source}"
            )
    typer.echo('\nUse one with: trm solve --checkpoint hf://... "<puzzle>"   (downloaded once, then cached)')
