"""``trm eval``: evaluate a checkpoint on a dataset split, print a table, write a JSON report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer

from trm.cli.checkpoint_args import (
    ArchConfigOption,
    ArchOption,
    CheckpointOption,
    StepOption,
    VerifyOption,
    load_options,
)
from trm.cli.inference_args import DeviceOption, ttc_option
from trm.cli.threads_arg import ThreadsOption

TtcOption = ttc_option(
    "noise:k=16,sigma=0.2,select=q  augment:k=8,select=vote  steps:n=32,exit=q  augment:k=4+noise:k=4  "
    "smc:k=8,sigma=1,gate=q (docs/ttc.md). Scores q, vote, wvote and verify at once."
)


def _tables(metrics: dict[str, float]):
    """(summary table, per-step table or None) for rich."""
    from rich.table import Table

    from trm.evaluation.evaluate import format_metrics

    per_step = re.compile(r"^(exact_accuracy|halt_rate)_step_(\d+)$")
    summary = Table(title="evaluation", show_header=True)
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    for name, value in format_metrics({k: v for k, v in metrics.items() if not per_step.match(k)}):
        summary.add_row(name, value)
    steps = sorted({int(m.group(2)) for k in metrics if (m := per_step.match(k))})
    if not steps:
        return summary, None
    table = Table(title="after each supervision step", show_header=True)
    for col in ("step", "exact accuracy", "q_halt > 0"):
        table.add_column(col, justify="right")
    for k in steps:
        acc = metrics.get(f"exact_accuracy_step_{k}")
        rate = metrics.get(f"halt_rate_step_{k}")
        table.add_row(
            str(k), "" if acc is None else f"{100 * acc:.2f}%", "" if rate is None else f"{100 * rate:.2f}%"
        )
    return summary, table


def evaluate(
    checkpoint: CheckpointOption,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Dataset folder (default: the checkpoint config's data.path)."),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Split to evaluate.")] = "test",
    early_halt: Annotated[
        bool,
        typer.Option(
            "--early-halt",
            help="Stop each puzzle at its first q_halt > 0 (faster; the papers run all steps); "
            "with --ttc, every trajectory (the spec's exit=q).",
        ),
    ] = False,
    steps: Annotated[
        int | None, typer.Option("--steps", min=1, help="Supervision steps N (default: the model's N_sup).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Evaluate only the first K puzzles.")
    ] = None,
    ttc: TtcOption = None,
    diagnose: Annotated[
        bool,
        typer.Option(
            "--diagnose", help="With --ttc: local stability, guide alignment and entropy of the candidates."
        ),
    ] = False,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", min=1, help="Slots per batch (default: config eval.batch_size)."),
    ] = None,
    device: DeviceOption = "auto",
    ema: Annotated[
        bool, typer.Option("--ema/--no-ema", help="Use the EMA weights when the checkpoint has them.")
    ] = True,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the JSON report here (atomically).")
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    verify: VerifyOption = True,
    threads: ThreadsOption = "auto",
    arch: ArchOption = None,
    arch_config: ArchConfigOption = None,
    step: StepOption = None,
) -> None:
    """Evaluate a checkpoint: exact accuracy after every supervision step, halting stats, task metrics."""
    from rich.console import Console

    from trm.checkpoints import load_any
    from trm.checkpoints.resolve import describe
    from trm.data.format import atomic_write_text, open_split
    from trm.device import pick_dtype
    from trm.evaluation.evaluate import evaluate as run_evaluation
    from trm.threads import tune_calls

    step_dir = describe(checkpoint)
    model, config, metadata = load_any(
        checkpoint, device=device, use_ema=ema, verify=verify, **load_options(arch, arch_config, step)
    )
    data_path = data if data is not None else (Path(config.data.path) if config.data.path else None)
    if data_path is None:
        raise typer.BadParameter("the checkpoint's config has no data.path; pass --data", param_hint="--data")
    ds = open_split(data_path, split)
    for key in ("vocab_size", "seq_len"):
        if getattr(ds.metadata, key) != getattr(metadata, key):
            from trm.errors import MismatchError

            rows, cols = metadata.grid_shape
            raise MismatchError(
                f"{key}={getattr(ds.metadata, key)}, but this model takes {metadata.task} data with "
                f"{key}={getattr(metadata, key)} ({rows}x{cols} grids)",
                file=str(ds.path / "metadata.json"),
            )
    dev = next(model.parameters()).device
    tune_calls(model, threads, dev.type)  # --threads (trm.threads)
    if ttc is not None:
        from trm.evaluation.ttc import evaluate_ttc

        result = evaluate_ttc(
            model, ds, ttc, steps=steps or config.eval.halt_max_steps, batch_size=batch_size or 64,
            device=dev, dtype=pick_dtype(dev, config.train.dtype), limit=limit, early_halt=early_halt,
            progress=progress, diagnose=diagnose,
        )  # fmt: skip
    else:
        if diagnose:
            raise typer.BadParameter(
                "--diagnose reads the candidates of --ttc; give a spec", param_hint="--diagnose"
            )
        result = run_evaluation(
            model,
            ds,
            batch_size=batch_size or config.eval.batch_size,
            device=dev,
            dtype=pick_dtype(dev, config.train.dtype),
            halt_max_steps=steps or config.eval.halt_max_steps,
            limit=limit,
            early_halt=early_halt,
            progress=progress,
        )
    console = Console()
    console.print(
        f"checkpoint [bold]{step_dir}[/bold]   data [bold]{data_path}/{split}[/bold]   device {dev}"
    )
    for table in _tables(result.metrics):
        if table is not None:
            console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if out is not None:
        report = json.loads(result.to_json())
        report.update({"checkpoint": str(step_dir), "data": str(data_path), "split_name": split, "ttc": ttc})
        atomic_write_text(out, json.dumps(report, indent=2, allow_nan=False) + "\n")
        console.print(f"report written to {out}")
