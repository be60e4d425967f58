"""The ``--threads`` option shared by the commands that run a model on the CPU (see ``trm.threads``)."""

from __future__ import annotations

from typing import Annotated

import typer


def _check(value: str) -> str:
    from trm.threads import parse_threads

    if value == "":  # not given: the recipe's train.threads
        return value
    try:
        parse_threads(value, "--threads")
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    return value


ThreadsOption = Annotated[
    str,
    typer.Option(
        "--threads",
        callback=_check,
        help="CPU threads: a count, or auto (0): measured while it runs, again when the machine gets busier.",
    ),
]
