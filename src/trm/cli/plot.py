"""``trm plot``: training curves of a run (loss, exact accuracy, learning rate) as a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def plot(
    metrics: Annotated[Path, typer.Argument(help="A run's metrics.jsonl, or the run dir holding it.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG to write.")] = Path("curves.png"),
) -> None:
    """Draw loss, train and eval exact accuracy and the learning rate against the step."""
    from trm.viz.plots import training_curves_png

    training_curves_png(metrics, out, title=str(metrics))
    typer.echo(f"curves written to {out}")
