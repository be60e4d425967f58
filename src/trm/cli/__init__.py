"""The ``trm`` command: a table of subcommands, each a plain typed function in its own module.

Heavy imports (torch) happen inside the commands, so ``trm --help`` is instant.
"""

from __future__ import annotations

import typer

from trm.cli import info

app = typer.Typer(
    name="trm",
    help="Tiny recursive reasoning models (TRM, HRM) for grid puzzles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Build datasets in trm's on-disk format.", no_args_is_help=True)
app.add_typer(data_app, name="data")

app.command("recipes")(info.recipes)
app.command("version")(info.version)


def main() -> None:
    app()
