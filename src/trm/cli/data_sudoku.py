"""``trm data sudoku``: build a Sudoku dataset (hub, local files or generator) and look at it."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from trm.cli.data_options import Force, Seed, Source, hidden, old_name


class ShowSplit(str, Enum):
    test = "test"
    train = "train"


MAX_REJECTED_SHOWN = 20
HUB, FILE, GEN = "--source hub: ", "--source file: ", "--source generate: "


def sudoku(
    out: Annotated[
        Path,
        typer.Argument(
            metavar="OUT", help="Dataset folder to write (train/, test/), or with --show alone to read."
        ),
    ],
    source: Annotated[
        Source | None,
        typer.Option(
            "--source",
            "-s",
            help="hub: download Sudoku-Extreme; file: your puzzles (--file); generate: offline generator. "
            "Leave it out to only --show an existing dataset.",
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            exists=True,
            dir_okay=False,
            help=FILE + "training puzzles: one per line, grids, or source,question,answer,rating CSV.",
        ),
    ] = None,
    test_file: Annotated[
        Path | None,
        typer.Option(
            "--test-file",
            exists=True,
            dir_okay=False,
            help=FILE + "test puzzles (else --test-fraction is held out).",
        ),
    ] = None,
    test_fraction: Annotated[
        float,
        typer.Option(min=0, max=1, help=FILE + "share of --file held out when there is no --test-file."),
    ] = 0.1,
    train_count: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Training puzzles before augmentation. generate: required; hub: seeded sub-sample "
            "(default 1000, the papers'); file: seeded sub-sample (default all).",
        ),
    ] = None,
    test_count: Annotated[
        int | None,
        typer.Option(min=1, help="Test puzzles. generate: required; hub: seeded sub-sample (default all)."),
    ] = None,
    val_count: Annotated[
        int,
        typer.Option(
            min=0,
            help="Validation puzzles, a `val` split held out from training (a target-accuracy stop reads it, "
            "not the test split): generate: the next N puzzles after the training ones, train and test "
            "unchanged; hub, file: N of the training puzzles (after --train-count), drawn by --seed.",
        ),
    ] = 0,
    num_aug: Annotated[
        int | None,
        typer.Option(
            min=0, help="Augmented variants per training puzzle (default 1000 for hub, 100 otherwise)."
        ),
    ] = None,
    seed: Seed = 0,
    size: Annotated[int, typer.Option(help=GEN + "grid size, 4, 6, 9 or 16.")] = 9,
    min_blanks: Annotated[int | None, typer.Option(min=0, help=GEN + "at least this many blanks.")] = None,
    min_rating: Annotated[
        int | None,
        typer.Option(
            help=GEN + "minimum rating (solver guesses). hub: minimum tdoku rating of training rows."
        ),
    ] = None,
    max_rating: Annotated[int | None, typer.Option(help=GEN + "maximum rating (solver guesses).")] = None,
    minimal: Annotated[
        bool, typer.Option(help=GEN + "remove clues until none can go (solution stays unique).")
    ] = True,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help=GEN + "processes (default: CPU count); the puzzles do not depend on it."),
    ] = None,
    strict: Annotated[
        bool, typer.Option(help=FILE + "stop at the first rejected puzzle instead of listing it.")
    ] = False,
    repo_id: Annotated[
        str, typer.Option(help=HUB + "Hugging Face dataset repository.")
    ] = "sapientinc/sudoku-extreme",
    cache_dir: Annotated[
        Path | None, typer.Option(help=HUB + "download cache (default: Hugging Face's).")
    ] = None,
    force: Force = False,
    show: Annotated[
        int, typer.Option(min=0, help="Print this many puzzles with their solutions and ratings.")
    ] = 0,
    show_split: Annotated[
        ShowSplit, typer.Option(help="Split that --show reads (train: the original of each group).")
    ] = ShowSplit.test,
    path: Annotated[Path | None, hidden("--path")] = None,
    test_path: Annotated[Path | None, hidden("--test-path")] = None,
    overwrite: Annotated[bool, hidden("--overwrite")] = False,
) -> None:
    """Build a Sudoku dataset in trm's format (train/ and test/ splits), or show puzzles of one.

    \b
    Examples:
      trm data sudoku data/sudoku6 -s generate --size 6 --train-count 1000 --test-count 500
      trm data sudoku data/sudoku6v -s generate --size 6 --train-count 1000 --test-count 500 --val-count 200
      trm data sudoku data/mine -s file --file puzzles.csv --num-aug 100
      trm data sudoku data/sudoku-extreme -s hub      # the papers' 1,000 x 1,000 set
      trm data sudoku data/sudoku6 --show 3
    """
    file = old_name(file, path, "--file", "--path")
    test_file = old_name(test_file, test_path, "--test-file", "--test-path")
    force = old_name(force, overwrite, "--force", "--overwrite")
    options = dict(locals())  # the command's arguments, handed to the builder below
    if source is None and not show:
        raise typer.BadParameter("give --source to build a dataset, or --show K to look at the one in OUT")
    if source is not None:
        _print_report(_build(**options))  # bad input or options: one line from the root command
    if show:
        show_puzzles(out, show, show_split.value)


def _build(*, source: Source, out: Path, num_aug: int | None, **o):
    from trm.data.sudoku import build, build_generated

    common = {"seed": o["seed"], "force": o["force"], "progress": True, "val_count": o["val_count"]}
    if source is Source.hub:
        return build.build_from_hub(
            out,
            repo_id=o["repo_id"],
            subsample=o["train_count"] or 1000,
            num_aug=1000 if num_aug is None else num_aug,
            test_limit=o["test_count"],
            min_difficulty=o["min_rating"],
            cache_dir=None if o["cache_dir"] is None else str(o["cache_dir"]),
            **common,
        )
    if source is Source.file:
        if o["file"] is None:
            raise typer.BadParameter("--source file needs --file FILE")
        return build.build_from_files(
            out,
            o["file"],
            o["test_file"],
            test_fraction=o["test_fraction"],
            train_count=o["train_count"],
            num_aug=100 if num_aug is None else num_aug,
            strict=o["strict"],
            **common,
        )
    if o["train_count"] is None or o["test_count"] is None:
        raise typer.BadParameter("--source generate needs --train-count and --test-count")
    return build_generated.build_from_generator(
        out,
        size=o["size"],
        train_count=o["train_count"],
        test_count=o["test_count"],
        num_aug=100 if num_aug is None else num_aug,
        min_blanks=o["min_blanks"],
        min_rating=o["min_rating"],
        max_rating=o["max_rating"],
        minimal=o["minimal"],
        workers=o["workers"] or os.cpu_count() or 1,
        **common,
    )


def _print_report(report) -> None:
    c = report.counts
    typer.echo(
        f"wrote {report.out}: {c['train_puzzles']} training puzzles -> {c['train_examples']} examples, "
        f"{c['test_puzzles']} test puzzles"
        + (f", {c['val_puzzles']} validation puzzles (val/)" if "val_puzzles" in c else "")
        + f", in {report.seconds:.1f} s"
    )
    train, test = report.ratings["train"], report.ratings["test"]
    bins = {(b["min"], b["max"]) for r in (train, test) for b in r["histogram"]}
    if bins:
        typer.echo("rating histogram (ratings.json):")
        typer.echo(f"  {'rating':>12}  {'train':>8}  {'test':>8}")
        for lo, hi in sorted(bins):
            label = str(lo) if lo == hi else f"{lo}-{hi}"
            n_train = sum(b["count"] for b in train["histogram"] if (b["min"], b["max"]) == (lo, hi))
            n_test = sum(b["count"] for b in test["histogram"] if (b["min"], b["max"]) == (lo, hi))
            typer.echo(f"  {label:>12}  {n_train:>8}  {n_test:>8}")
        for name, r in (("train", train), ("test", test)):
            if "median" in r:
                typer.echo(
                    f"  {name}: min {r['min']}, median {r['median']:g}, mean {r['mean']:g}, max {r['max']}"
                )
    if report.rejected:
        typer.echo(f"rejected {len(report.rejected)} puzzle(s):")
        for r in report.rejected[:MAX_REJECTED_SHOWN]:
            typer.echo(f"  {r}")
        if len(report.rejected) > MAX_REJECTED_SHOWN:
            more = len(report.rejected) - MAX_REJECTED_SHOWN
            typer.echo(f"  ... and {more} more; all are listed in {report.out / 'rejected.txt'}")


def show_puzzles(root: Path, count: int, split_name: str = "test") -> None:
    """Print the first ``count`` puzzles of a split (a training group's original) beside their solutions."""
    import numpy as np

    from trm.data.format import open_split
    from trm.data.sudoku import format_grid, from_tokens

    split = open_split(root, split_name)
    n = split.metadata.grid_shape[0]
    ratings_file = split.path / "ratings.npy"
    ratings = np.load(ratings_file) if ratings_file.exists() else None
    for g in range(min(count, split.num_groups)):
        row = int(split.puzzle_indices[int(split.group_indices[g])])  # the group's first (original) puzzle
        question = from_tokens(split.inputs[row], n)
        answer = from_tokens(split.labels[row], n)
        rating = "unknown" if ratings is None or ratings[g] < 0 else int(ratings[g])
        blanks = int((question == 0).sum())
        typer.echo(f"{split_name} puzzle {g}: {blanks} blanks, rating {rating}")
        left, right = (
            format_grid(question, pretty=True).split("\n"),
            format_grid(answer, pretty=True).split("\n"),
        )
        width = max(len(line) for line in left)
        for a, b in zip(left, right, strict=True):
            typer.echo(f"  {a:<{width}}    {b}")
        typer.echo("")
