"""``trm data maze``: build a Maze dataset from the hub, local CSV files, or the generator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trm.cli.data_options import Force, Seed, Source, hidden, old_name

DEFAULT_OUT = Path("data/maze-30x30-hard-1k")
GEN = "--source generate: "


def maze(
    out: Annotated[Path, typer.Argument(help="Dataset folder to write (train/ and test/).")] = DEFAULT_OUT,
    source: Annotated[
        Source, typer.Option("--source", "-s", help="hub: download; file: local CSVs; generate: offline.")
    ] = Source.hub,
    repo: Annotated[
        str, typer.Option(help="Hub dataset id, or a local folder with train.csv and test.csv.")
    ] = "sapientinc/maze-30x30-hard-1k",
    revision: Annotated[str | None, typer.Option(help="Hub revision (commit, tag or branch) to pin.")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="--source file: training mazes (source,question,answer,rating CSV)."),
    ] = None,
    test_file: Annotated[Path | None, typer.Option("--test-file", help="--source file: test mazes.")] = None,
    train_count: Annotated[
        int | None,
        typer.Option(
            min=1, help="Training mazes: generate: how many (default 1000); else a seeded sub-sample."
        ),
    ] = None,
    test_count: Annotated[
        int | None,
        typer.Option(min=1, help="Test mazes: generate: how many (default 1000); else the first N."),
    ] = None,
    val_count: Annotated[
        int,
        typer.Option(
            min=0,
            help="Validation mazes, a `val` split held out from training (a target-accuracy stop reads it, "
            "not the test split): generate: drawn apart, train and test unchanged; else taken from the "
            "training mazes by --seed.",
        ),
    ] = 0,
    size: Annotated[int, typer.Option(min=3, help=GEN + "maze side.")] = 30,
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
    mix_sizes: Annotated[
        str | None,
        typer.Option(
            "--mix-sizes",
            help=GEN + "training mazes of these sides (e.g. 7,9,11: equal shares, a side listed twice gets "
            "twice the share), each <= --size and odd when --size is odd, embedded in walls at a random "
            "offset of the --size board that keeps the rooms' lattice; test and val stay --size mazes.",
        ),
    ] = None,
    csv_dir: Annotated[
        Path | None, typer.Option(help=GEN + "also write train.csv/test.csv in the hub layout.")
    ] = None,
    augment: Annotated[bool, typer.Option(help="Add the 8 dihedral variants of each training maze.")] = False,
    relabel: Annotated[
        bool | None,
        typer.Option(
            help="Label every maze, dihedral variants included, with the tie-break run on it (one rule "
            "among equally short paths) instead of its original's label transformed (the reference "
            "builder's way). Default: on for --source generate, off for hub and file.",
        ),
    ] = None,
    seed: Seed = 0,
    force: Force = False,
    train_csv: Annotated[Path | None, hidden("--train-csv")] = None,
    test_csv: Annotated[Path | None, hidden("--test-csv")] = None,
    num_train: Annotated[int | None, hidden("--num-train")] = None,
    num_test: Annotated[int | None, hidden("--num-test")] = None,
    subsample: Annotated[int | None, hidden("--subsample")] = None,
    test_limit: Annotated[int | None, hidden("--test-limit")] = None,
    side: Annotated[int | None, hidden("--side")] = None,
) -> None:
    """Build Maze-Hard (30x30, hub layout) or generated mazes of any size in trm's dataset format.

    \b
    Examples:
      trm data maze data/maze-hard --source hub
      trm data maze data/maze-gen --source generate --train-count 1000 --test-count 200
      trm data maze data/maze11 --source generate --size 11 --val-count 200 --augment
      trm data maze data/maze11mix --source generate --size 11 --mix-sizes 7,9,11 --augment
      trm data maze data/mine --source file --file train.csv --test-file test.csv
    """
    from trm.data.maze import build
    from trm.data.maze.generate import format_summary

    file = old_name(file, train_csv, "--file", "--train-csv")
    test_file = old_name(test_file, test_csv, "--test-file", "--test-csv")
    train_count = old_name(old_name(train_count, num_train, "--train-count", "--num-train"), subsample,
                           "--train-count", "--subsample")  # fmt: skip
    test_count = old_name(old_name(test_count, num_test, "--test-count", "--num-test"), test_limit,
                          "--test-count", "--test-limit")  # fmt: skip
    size = size if side is None else side  # --side: the old name of --size
    options = {"augment": augment, "seed": seed, "force": force}
    if relabel is not None or source is not Source.generate:
        options["relabel"] = bool(relabel)
    mix = _mix_sizes(mix_sizes, size) if mix_sizes is not None else None
    if mix is not None and source is not Source.generate:
        raise typer.BadParameter(
            "only generated mazes mix sizes (--source generate)", param_hint="--mix-sizes"
        )
    if source is Source.generate:
        metas = build.build_generated(
            out,
            num_train=train_count or 1000,
            num_test=test_count or 1000,
            side=size,
            min_path_len=min_path_len,
            extra_open=extra_open,
            corner_open=corner_open,
            csv_dir=csv_dir,
            progress=True,
            num_val=val_count,
            mix_sizes=mix,
            **options,
        )
    else:
        options.update(subsample=train_count, test_limit=test_count, val_count=val_count)
        if source is Source.hub:
            metas = build.build_from_hub(out, repo, revision=revision, **options)
        else:
            if file is None or test_file is None:
                raise typer.BadParameter("--source file needs --file and --test-file")
            metas = build.build_from_files(out, file, test_file, **options)
    for split, meta in metas.items():
        b = meta.build
        rows, cols = meta.grid_shape
        typer.echo(
            f"{out / split}: {meta.num_groups} mazes, {meta.num_examples} examples, {rows}x{cols}, "
            f"labels that are shortest paths: {b['labels_are_shortest']}/{b['num_mazes']}"
            + (" (each labelled by the tie-break on its own grid)" if b.get("relabel") else "")
        )
        if "statistics" in b:
            typer.echo(format_summary(b["statistics"]))
    overlap = metas["test"].build["test_mazes_also_in_train"]
    if overlap:
        typer.echo(f"warning: {overlap} test mazes also appear in the training set", err=True)


def _mix_sizes(text: str, size: int) -> tuple[int, ...]:
    """--mix-sizes parsed and checked against --size; a bad value is an error naming the option."""
    from trm.data.maze.mixed_sizes import check_mix_sizes, parse_mix_sizes
    from trm.errors import InputError

    try:
        return check_mix_sizes(parse_mix_sizes(text), size)
    except InputError as e:
        raise typer.BadParameter(e.message.removeprefix("mix sizes: "), param_hint="--mix-sizes") from None
