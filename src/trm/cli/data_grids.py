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
    val_count: Annotated[
        int,
        typer.Option(
            min=0,
            help="Examples without a split held out as a `val` split (after the test draw, by --seed): "
            "a target-accuracy stop reads it, not the test split.",
        ),
    ] = 0,
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
        val_count=val_count,
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
    name: Annotated[
        str,
        typer.Argument(
            help="Rule (with --out): permutation, symbol_map, permute_map, gravity, flood_fill, life; "
            "example task (a JSONL file): life or gravity."
        ),
    ],
    file: Annotated[Path | None, typer.Argument(help="JSONL file to write (the example tasks).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Dataset folder to build (train/ and test/) from the rule.")
    ] = None,
    num: Annotated[int, typer.Option(min=1, help="Number of examples (JSONL file).")] = 2000,
    size: Annotated[
        int | None,
        typer.Option(
            min=1, help="Board side (--out: default 6); life: default 8, gravity: the largest side (6)."
        ),
    ] = None,
    symbols: Annotated[
        int | None, typer.Option(min=2, help="--out: symbols 0..K-1 (default 4; flood_fill 3, life 2).")
    ] = None,
    train_count: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="--out: training examples (default 1,800 on boards up to 6x6, 7,200 on larger ones: "
            "8x8 rules memorise 1,800, docs/grid.md).",
        ),
    ] = None,
    test_count: Annotated[int, typer.Option(min=1, help="--out: held-out examples.")] = 200,
    val_count: Annotated[
        int,
        typer.Option(
            min=0, help="--out: validation examples (a `val` split; training and test examples unchanged)."
        ),
    ] = 0,
    seed: Annotated[int, typer.Option(min=0, help="Seed (same seed: same rule, same bytes).")] = 0,
    force: Force = False,
) -> None:
    """Write an example grid task: a dataset of a simple rule (--out DIR), or a JSONL file to build."""
    from trm.errors import InputError

    if (file is None) == (out is None):
        raise InputError("give either --out DIR (a dataset of a rule) or a JSONL FILE to write, not both")
    if out is not None:
        _rule_dataset(name, out, size, symbols, (train_count, test_count, val_count), seed, force)
        return
    from trm.data.grid.examples import EXAMPLES, SUGGESTED, generate, write_jsonl

    if name not in EXAMPLES:
        raise InputError(f"unknown example task {name!r}; known: {', '.join(sorted(EXAMPLES))}")
    assert file is not None
    options = {} if size is None else ({"size": size} if name == "life" else {"max_size": size})
    examples = generate(name, num, seed=seed, **options)
    write_jsonl(file, examples)
    typer.echo(
        f"{file}: {len(examples)} {name} examples; "
        f"build with: trm data grids DATA --file {file} {SUGGESTED[name]}"
    )


def default_train_count(side: int) -> int:
    """Training examples of a rule's dataset when ``--train-count`` is not given: on 8x8 boards
    ``gravity`` memorised 1,800 examples (66.5% held out in 5 minutes) and reached 91.5% with 7,200
    (docs/grid.md); the 6x6 figures were measured with 1,800."""
    return 1800 if side <= 6 else 7200


def _rule_dataset(
    name: str,
    out: Path,
    size: int | None,
    symbols: int | None,
    counts: tuple[int | None, int, int],
    seed: int,
    force: bool,
) -> None:
    import tempfile

    from trm.data.grid.build import GridOptions, build_grids
    from trm.data.grid.examples import write_jsonl
    from trm.data.grid.rules import AUGMENT, examples, make_rule
    from trm.recipes.choose import pick_rule

    train, test, val = counts
    rule = make_rule(name, size=6 if size is None else size, symbols=symbols, seed=seed)
    train = train or default_train_count(rule.size)
    augment, fixed = AUGMENT[name]
    with tempfile.TemporaryDirectory() as tmp:
        src = write_jsonl(Path(tmp) / f"{name}.jsonl", examples(rule, train, test, seed=seed, val=val))
        options = GridOptions(augment=augment, fixed_symbols=fixed, seed=seed, max_size=max(30, rule.size))
        result = build_grids(out, src, options, force=force)
    train_meta = result.metadata["train"]
    typer.echo(
        f"{out}: rule {name} on {rule.size}x{rule.size} boards over {rule.symbols} symbols, "
        f"{train} training examples ({train_meta.num_examples} with augmentation "
        f"{','.join(augment) or 'none'}), {test} held out" + (f", {val} for validation" if val else "")
    )
    recipe = pick_rule("grid", rule.size, rule.size).recipe
    same = f"trm train --recipe {recipe} data.path={out}"
    typer.echo(f"train with: trm train --data {out}   (the same as {same})")
