"""Command-line options shared by every command that loads a checkpoint (``trm.checkpoints.load_any``)."""

from __future__ import annotations

from typing import Annotated

import typer

CHECKPOINT_HELP = (
    "Run dir, its checkpoints/ dir, a step dir, a reference step_N file or folder, "
    "or hf://owner/repo, optionally with /subfolder and @revision."
)

CheckpointOption = Annotated[str, typer.Option("--checkpoint", "-c", help=CHECKPOINT_HELP)]
VerifyOption = Annotated[
    bool,
    typer.Option(
        "--verify/--no-verify",
        help="Check the checkpoint's files against the SHA-256 recorded in its meta.json.",
    ),
]
