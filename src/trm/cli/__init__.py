"""The ``trm`` command: a table of subcommands, each a plain typed function in its own module.

Heavy imports (torch) happen inside the commands, so ``trm --help`` is instant.
"""

from __future__ import annotations

import typer

from trm.cli import data_maze, data_sudoku, info
from trm.cli import train as train_cmd
from trm.cli.arc import arc_app
from trm.cli.data_arc import arc as data_arc_cmd
from trm.cli.evaluate import evaluate as eval_cmd
from trm.cli.plot import plot as plot_cmd
from trm.cli.quickstart import quickstart as quickstart_cmd
from trm.cli.solve import solve as solve_cmd

app = typer.Typer(
    name="trm",
    help="Tiny recursive reasoning models (TRM, HRM) for grid puzzles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Build datasets in trm's on-disk format.", no_args_is_help=True)
app.add_typer(data_app, name="data")

app.command("quickstart")(quickstart_cmd)
app.command("recipes")(info.recipes)
app.command("version")(info.version)
app.command("train")(train_cmd.train)
app.command("eval")(eval_cmd)
app.command("solve")(solve_cmd)
app.command("plot")(plot_cmd)
data_app.command("maze")(data_maze.maze)
data_app.command("sudoku")(data_sudoku.sudoku)
data_app.command("arc")(data_arc_cmd)
app.add_typer(arc_app, name="arc")


def main() -> None:
    app()
