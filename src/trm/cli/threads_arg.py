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


def fixed_threads(value: str) -> int:
    """``--threads`` of the commands that answer one puzzle or one request at a time (``trm solve``,
    ``trm serve``, ``trm mcp``): a count is set on torch now and returned; ``auto`` (0) leaves torch's
    own count and returns 0. The tuner (``trm.threads``) learns from a loop of many calls, and a single
    puzzle is too few; a server's calls come with idle gaps between requests, which its hook would count
    as time spent."""
    from trm.threads import parse_threads, torch_set_threads

    n = parse_threads(value, "--threads")
    if n:
        torch_set_threads(n)
    return n


SolveThreadsOption = Annotated[
    str,
    typer.Option(
        "--threads",
        callback=_check,
        help="CPU threads: a count, or auto (0): torch's default (tuning needs many calls, not one puzzle).",
    ),
]
