"""``trm data verify``: check a dataset's files against the sizes and SHA-256 its metadata records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def verify(
    path: Annotated[Path, typer.Argument(help="A dataset folder (train/, test/ ...) or one split folder.")],
) -> None:
    """Verify a dataset: every array file's size and checksum, then every token and index.

    Prints one row per file and exits with code 2 when anything is wrong (the message says what).
    """
    from rich.console import Console
    from rich.table import Table

    from trm.data.errors import InputError
    from trm.data.integrity import verify_dataset

    reports = verify_dataset(path)
    table = Table(title=f"dataset {path}")
    for col in ("split", "file", "bytes", "status"):
        table.add_column(col, justify="right" if col == "bytes" else "left")
    for report in reports:
        for f in report.files:
            colour = "green" if f.status == "ok" else ("yellow" if f.ok else "red")
            size = "" if f.size is None else f"{f.size:,}"
            table.add_row(report.path.name, f.name, size, f"[{colour}]{f.status}[/{colour}]")
    console = Console()
    console.print(table)
    problems = [p for r in reports for p in r.problems]
    for p in problems:
        console.print(f"[red]problem:[/red] {p}", soft_wrap=True)
    if problems:
        raise InputError(f"{len(problems)} problem(s), listed above", file=str(path))
    examples = sum(r.num_examples or 0 for r in reports)
    console.print(f"[green]ok[/green]: {len(reports)} split(s), {examples:,} examples verified")
