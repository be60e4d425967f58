"""Command-line options shared by the commands that run a loaded model on puzzles (``trm eval``,
``trm solve``): where it runs, and the test-time compute spec (``trm.inference.ttc``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

DeviceOption = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or mps.")]


def ttc_option(examples: str) -> Any:
    """The ``--ttc`` option (``None``: no test-time compute), its help showing the command's ``examples``
    of specs."""
    return Annotated[str | None, typer.Option("--ttc", help=f"Test-time compute spec, e.g. {examples}")]
