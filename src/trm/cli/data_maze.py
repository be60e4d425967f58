"""``trm data maze``: build a Maze dataset from the hub, local CSV files, or the generator."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_OUT = Path("data/maze-30x30-hard-1k")
GEN = "--source generate: "


class MazeSource(str, Enum):
    hub = "hub"
    files = "files"
    generate = "generate"


def maze(
    out: Annotated[Path, typer.Argument(help="Dataset folder to write (train/ and test/).")] = DEFAULT_OUT,
    source: Annotated[
        MazeSource, typer.Option(help="hub: download; files: local CSVs; generate: offline.")
    ] = MazeSource.hub,
    repo: Annotated[
        str, typer.Option(help="Hub dataset id, or a local folder with train.csv and test.csv.")
    ] = "sapientinc/maze-30x30-hard-1k",
    revision: Annotated[str | None, typer.Option(help="Hub revision (commit, tag or branch) to pin.")] = None,
    train_csv: Annotated[
        Path | None, typer.Option(help="--source files: training mazes (source,question,answer,rating).")
    ] = None,
    test_csv: Annotated[Path | None, typer.Option(help="--source files: test mazes.")] = None,
    num_train: Annotated[int, typer.Option(min=1, help=GEN + "training mazes.")] = 1000,
    num_test: Annotated[int, typer.Option(min=1, help=GEN + "test mazes.")] = 1000,
    side: Annotated[int, typer.Option(min=3, help=GEN + "maze side.")] = 30,
    min_path_len: Annotated[
        int | None,
        typer.Option(
            min=1, help=GEN + "shortest path >= this many moves (default 110 at 30x30, scaled by area)."
        ),
    ] = None,
    extra_open: Annotated[
        float,
        typer.Option(min=0, max=1, help=GEN + "chance to open each other wall between two rooms (loops)."),
    ] = 0.03,
    corner_open: Annotated[
        float, typer.Option(min=0, max=1, help=GEN + "chance to open a bend's pillar (equally short paths).")
    ] = 0.2,
    csv_dir: Annotated[
        Path | None, typer.Option(help=GEN + "also write train.csv/test.csv in the hub layout.")
    ] = None,
    augment: Annotated[bool, typer.Option(help="Add the 8 dihedral variants of each training maze.")] = False,
    subsample: Annotated[
        int | None, typer.Option(min=1, help="Keep this many training mazes (seeded).")
    ] = None,
    test_limit: Annotated[int | None, typer.Option(min=1, help="Keep the first N test mazes.")] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of subsampling and generation (same seed: same bytes).")
    ] = 0,
) -> None:
    """Build Maze-Hard (30x30, hub layout) or generated mazes of any size in trm's dataset format."""
    from trm.data.maze import build
    from trm.data.maze.generate import format_summary

    options = {"augment": augment, "subsample": subsample, "test_limit": test_limit, "seed": seed}
    if source is MazeSource.hub:
        metas = build.build_from_hub(out, repo, revision=revision, **options)
    elif source is MazeSource.files:
        if train_csv is None or test_csv is None:
            raise typer.BadParameter("--source files needs --train-csv and --test-csv")
        metas = build.build_from_files(out, train_csv, test_csv, **options)
    else:
        metas = build.build_generated(
            out,
            num_train=num_train,
            num_test=num_test,
            side=side,
            min_path_len=min_path_len,
            extra_open=extra_open,
            corner_open=corner_open,
            csv_dir=csv_dir,
            progress=True,
            **options,
        )
    for split, meta in metas.items():
        b = meta.build
        rows, cols = meta.grid_shape
        typer.echo(
            f"{out / split}: {meta.num_groups} mazes, {meta.num_examples} examples, {rows}x{cols}, "
            f"labels that are shortest paths: {b['labels_are_shortest']}/{b['num_mazes']}"
        )
        if "statistics" in b:
            typer.echo(format_summary(b["statistics"]))
    overlap = metas["test"].build["test_mazes_also_in_train"]
    if overlap:
        typer.echo(f"warning: {overlap} test mazes also appear in the training set", err=True)
