"""Options shared by the dataset builders (``trm data sudoku``, ``maze``, ``grids``, ``arc``): one name each.

``--source hub|file|generate``, ``--file`` and ``--test-file``, ``--train-count`` and ``--test-count``,
``--size``, ``--seed`` and ``--force`` (replace a dataset already in OUT; :mod:`trm.data.output`).
Names used before (``--path``, ``--train-csv``, ``--num-train``, ``--overwrite`` ...) still work as
hidden aliases (:func:`old_name`).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, TypeVar

import typer

T = TypeVar("T")


class Source(str, Enum):
    hub = "hub"
    file = "file"
    generate = "generate"


Force = Annotated[
    bool, typer.Option("--force", help="Replace a dataset already in OUT (once the new one is complete).")
]
Seed = Annotated[int, typer.Option(min=0, help="Seed of every random choice (same seed: same bytes).")]


def hidden(flag: str) -> Any:
    """A hidden option: an old name kept working (:func:`old_name` merges it into the new one)."""
    return typer.Option(flag, hidden=True)


def old_name(value: T, old: T | None, flag: str, old_flag: str) -> T:
    """``value`` of ``flag``, or what the hidden old name ``old_flag`` gave (both: they must agree)."""
    if old is None or old is False:
        return value
    if value is not None and value is not False and value != old:
        raise typer.BadParameter(f"{old_flag} is the old name of {flag}; give one of them", param_hint=flag)
    return old
