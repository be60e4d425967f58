"""Command-line options shared by every command that loads a checkpoint (``trm.checkpoints.load_any``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CHECKPOINT_HELP = (
    "Run dir, its checkpoints/ dir, a step dir, a weights file (step_N, X.pt, last.ckpt, ...) or its "
    "folder, or hf://owner/repo, optionally with /path, @revision and @step=N."
)

CheckpointOption = Annotated[str, typer.Option("--checkpoint", "-c", help=CHECKPOINT_HELP)]
VerifyOption = Annotated[
    bool,
    typer.Option(
        "--verify/--no-verify",
        help="Check the checkpoint's files against the SHA-256 recorded in its meta.json.",
    ),
]
ArchOption = Annotated[
    str | None,
    typer.Option(
        "--arch",
        help="Architecture of a checkpoint without a config, as its trainer's arch: keys, e.g. "
        "H_cycles=3,L_cycles=6,num_heads=8,halt_max_steps=16,puzzle_emb_len=16,no_ACT_continue=true "
        "(the error of a checkpoint that needs it names the missing keys).",
    ),
]
ArchConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--arch-config",
        help="A YAML with those keys, or a run's all_config.yaml (its arch: section); --arch wins per key.",
    ),
]
StepOption = Annotated[
    int | None,
    typer.Option(
        "--step",
        min=0,
        help="Which checkpoint of a folder of step_N files (default: the highest N); also spec@step=N.",
    ),
]


def load_options(arch: str | None, arch_config: Path | None, step: int | None) -> dict:
    """The keyword arguments ``load_any`` / ``Solver.load`` take for these options."""
    return {"arch": arch, "arch_config": arch_config, "step": step}
