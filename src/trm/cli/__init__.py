"""The ``trm`` command: a table of subcommands, each a plain typed function in its own module.

Heavy imports (torch) happen inside the commands, so ``trm --help`` is instant.

Errors: one handler (:class:`_Commands`, the root command group, so ``main``, ``python -m trm`` and
Typer's test runner all pass through it) turns a user's mistake into a message. The library's
user-facing errors (:func:`trm.errors.user_errors`: bad or mismatched input, bad config, a locked run
dir) and a missing or unreadable path become ONE line on stderr and exit code 2; everything else is a
bug and keeps its traceback. ``TRM_DEBUG=1`` or ``trm --debug ...`` shows the traceback of the former too.
"""

from __future__ import annotations

import os

import click
import typer
from typer.core import TyperGroup

from trm.cli import data_grids, data_maze, data_sudoku, data_verify, info
from trm.cli import train as train_cmd
from trm.cli.arc import arc_app
from trm.cli.convert import convert as convert_cmd
from trm.cli.data_arc import arc as data_arc_cmd
from trm.cli.evaluate import evaluate as eval_cmd
from trm.cli.export import export as export_cmd
from trm.cli.llm import llm_app
from trm.cli.models import models as models_cmd
from trm.cli.plot import plot as plot_cmd
from trm.cli.push import push as push_cmd
from trm.cli.quickstart import quickstart as quickstart_cmd
from trm.cli.serve import mcp as mcp_cmd
from trm.cli.serve import serve as serve_cmd
from trm.cli.solve import solve as solve_cmd

DEBUG_ENV = "TRM_DEBUG"


class _Commands(TyperGroup):
    """The root group: runs a subcommand; a user-facing error becomes one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        from trm.errors import one_line, user_errors

        try:
            return super().invoke(ctx)
        except user_errors() as e:
            if ctx.params.get("debug") or os.environ.get(DEBUG_ENV, "") not in ("", "0"):
                raise
            typer.echo(f"error: {one_line(e)}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_Commands,
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
app.command("export")(export_cmd)
app.command("plot")(plot_cmd)
app.command("convert")(convert_cmd)
app.command("models")(models_cmd)
app.command("push")(push_cmd)
app.command("serve")(serve_cmd)
app.command("mcp")(mcp_cmd)
data_app.command("maze")(data_maze.maze)
data_app.command("sudoku")(data_sudoku.sudoku)
data_app.command("arc")(data_arc_cmd)
data_app.command("grids")(data_grids.grids)
data_app.command("example")(data_grids.example)
data_app.command("verify")(data_verify.verify)
app.add_typer(arc_app, name="arc")
app.add_typer(llm_app, name="llm")


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help=f"Show the full traceback of an error (same as {DEBUG_ENV}=1)."
    ),
) -> None:
    """Declares ``--debug``; :class:`_Commands` reads it from the context."""


def main(argv: list[str] | None = None) -> None:
    """Run the ``trm`` command (``argv`` defaults to ``sys.argv[1:]``)."""
    app(args=argv, prog_name="trm")
