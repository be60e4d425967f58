"""``trm data grids``: a user's grid examples (JSONL, CSV, ARC folder) -> dataset; ``trm data example``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trm.cli.data_options import Force, hidden, old_name


def _symbols(text: str | None) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip()) if text else ()


def grids(
    out: Annotated[Path, typer.Argument(help="Dataset folder to write (train/ and test/).")],
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Examples: a .jsonl file, a .csv file (input,output[,split][,id]) or a folder of ARC tasks.",
        ),
    ] = None,
    test_fraction: Annotated[
        float,
        typer.Option(min=0, max=0.99, help="Share of the examples without a split that go to test (seeded)."),
    ] = 0.1,
    augment: Annotated[
        str, typer.Option(help="none, dihedral, symbols or dihedral,symbols (same map on input and output).")
    ] = "none",
    fixed_symbols: Annotated[
        str | None, typer.Option(help="Comma-separated symbols that symbol permutations leave alone, e.g. 0.")
    ] = None,
    num_aug: Annotated[int, typer.Option(min=0, help="Augmented variants per training example.")] = 7,
    max_size: Annotated[int, typer.Option(min=1, help="Largest grid side accepted.")] = 30,
    vocab: Annotated[
        str | None,
        typer.Option(help="Comma-separated symbols, in token order; then any other symbol is an error."),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the split and the augmentations.")] = 0,
    show: Annotated[int, typer.Option(min=0, help="Print this many training examples.")] = 0,
    force: Force = False,
    source: Annotated[Path | None, hidden("--source")] = None,
) -> None:
    """Build a dataset from your own grid examples; prints the vocabulary (symbol -> token) and the counts."""
    from trm.data.grid.augment import parse_augment
    from trm.data.grid.build import GridOptions, build_grids

    file = old_name(file, source, "--file", "--source")
    if file is None:
        raise typer.BadParameter("give the examples: --file FILE|FOLDER", param_hint="--file")
    options = GridOptions(
        test_fraction=test_fraction,
        augment=parse_augment(augment),
        fixed_symbols=_symbols(fixed_symbols),
        num_aug=num_aug,
        max_size=max_size,
        seed=seed,
        vocabulary=_symbols(vocab) or None,
    )
    result = build_grids(out, file, options, force=force)
    v = result.vocabulary
    typer.echo("vocabulary (symbol -> token): " + ", ".join(f"{s!r}->{v.token(s)}" for s in v.symbols))
    for split, meta in result.metadata.items():
        b = meta.build
        rows, cols = meta.grid_shape
        typer.echo(
            f"{out / split}: {b['num_original_examples']} examples, {meta.num_examples} with augmentations, "
            f"canvas {rows}x{cols}, copying the input is exactly right on {b['copy_input_exact']:.1%}"
        )
    overlap = result.metadata["test"].build["test_inputs_also_in_train"]
    if overlap:
        typer.echo(f"warning: {overlap} test inputs also appear in the training set", err=True)
    for ex, x, y in result.examples["train"][:show]:
        typer.echo(f"\n{ex.id} input:\n{v.format(x)}\n{ex.id} output:\n{v.format(y)}")


def example(
    name: Annotated[str, typer.Argument(help="Example task: life (Game of Life, one step) or gravity.")],
    out: Annotated[Path, typer.Argument(help="JSONL file to write.")],
    num: Annotated[int, typer.Option(min=1, help="Number of examples.")] = 2000,
    size: Annotated[
        int | None,
        typer.Option(min=1, help="life: the board side (default 8); gravity: the largest side (6)."),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed (same seed: same file).")] = 0,
) -> None:
    """Write an example grid task as JSONL, ready for `trm data grids`."""
    from trm.data.grid.examples import EXAMPLES, SUGGESTED, generate, write_jsonl
    from trm.errors import InputError

    if name not in EXAMPLES:
        raise InputError(f"unknown example task {name!r}; known: {', '.join(sorted(EXAMPLES))}")
    options = {} if size is None else ({"size": size} if name == "life" else {"max_size": size})
    examples = generate(name, num, seed=seed, **options)
    write_jsonl(out, examples)
    typer.echo(
        f"{out}: {len(examples)} {name} examples; "
        f"build with: trm data grids DATA --file {out} {SUGGESTED[name]}"
    )
