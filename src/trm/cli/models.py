"""``trm models``: the known pretrained checkpoints on the Hugging Face hub, and how to evaluate each.

Printed as a few lines per checkpoint (the spec to copy, what it is, how it is laid out, the commands
that build its dataset and evaluate it), readable at any width. ``--check`` says which ones this
machine can reach; offline it says so at once (one connection probe with a short timeout).
"""

from __future__ import annotations

from typing import Annotated

import typer


def models(
    task: Annotated[str | None, typer.Option(help="Only this task (sudoku, maze, arc).")] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Ask the hub which entries this machine can reach.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds to wait for the hub's host with --check.")
    ] = 3.0,
) -> None:
    """List known hub checkpoints with task, size, reported accuracy and the command that evaluates each."""
    from trm.checkpoints.catalog import KNOWN
    from trm.checkpoints.catalog import check as check_entries

    entries = [k for k in KNOWN if task is None or k.task == task]
    if check:
        results = check_entries(entries, timeout=timeout)
        for entry, _, found in results:
            typer.echo(f"{entry.spec}\n    {found}")
        reachable = sum(ok for _, ok, _ in results)
        typer.echo(f"\n{reachable} of {len(results)} reachable from this machine")
        return
    typer.echo("Known checkpoints (accuracy as reported by their authors, not measured by trm):\n")
    for k in entries:
        typer.echo(k.spec)
        size = f", {k.download} to download" if k.download else ""
        typer.echo(f"    {k.model}, {k.params} parameters{size}, {k.benchmark}: {k.reported} ({k.source})")
        typer.echo(f"    layout: {k.layout}")
        if k.loads:
            typer.echo(f"    data:   {k.data_command}")
            typer.echo(f"    eval:   {k.eval_command}")
    typer.echo(
        '\nUse one with: trm solve --checkpoint hf://... "<puzzle>"   (only the chosen file is downloaded)'
    )
