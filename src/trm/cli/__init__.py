"""The ``trm`` command: a table of subcommands, each a plain typed function in its own module.

Heavy imports (torch) happen inside the commands, so ``trm --help`` is instant.

Errors: :func:`main` is the one place that turns a user's mistake into a message. The library's
user-facing errors (:func:`trm.errors.user_errors`: bad or mismatched input, bad config, a locked run
dir) and a missing or unreadable path become ONE line on stderr and exit code 2; everything else is a
bug and keeps its traceback. ``TRM_DEBUG=1`` or ``trm --debug ...`` shows the traceback of the former too.
"""

from __future__ import annotations

import itertools
import os
import sys

import typer

from trm.cli import data_grids, data_maze, data_sudoku, data_verify, info
from trm.cli import train as train_cmd
from trm.cli.arc import arc_app
from trm.cli.data_arc import arc as data_arc_cmd
from trm.cli.evaluate import evaluate as eval_cmd
from trm.cli.llm import llm_app
from trm.cli.plot import plot as plot_cmd
from trm.cli.quickstart import quickstart as quickstart_cmd
from trm.cli.serve import mcp as mcp_cmd
from trm.cli.serve import serve as serve_cmd
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


DEBUG_ENV = "TRM_DEBUG"


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help=f"Show the full traceback of an error (same as {DEBUG_ENV}=1)."
    ),
) -> None:
    """Declares ``--debug`` for the help and the parser; :func:`main` reads it from the arguments."""


def _debug(args: list[str]) -> bool:
    leading = list(itertools.takewhile(lambda a: a.startswith("-"), args))  # options before the command
    return "--debug" in leading or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _one_line(error: BaseException) -> str:
    """The error's message on one line (a config error lists its keys on several)."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return lines[0] + (": " + "; ".join(lines[1:]) if len(lines) > 1 else "")


def main(argv: list[str] | None = None) -> None:
    """Run the ``trm`` command; a user-facing error is one line on stderr and exit code 2."""
    from trm.errors import user_errors

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="trm")
    except (*user_errors(), FileNotFoundError, PermissionError) as e:
        if _debug(args):
            raise
        print(f"error: {_one_line(e)}", file=sys.stderr)
        raise SystemExit(2) from None
