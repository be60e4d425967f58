"""``trm export``: write a checkpoint as one portable ONNX file (optionally int8) that ``trm solve`` and
:class:`trm.runtime.OnnxSolver` run without PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trm.cli.checkpoint_args import (
    CHECKPOINT_HELP,
    ArchConfigOption,
    ArchOption,
    StepOption,
    load_options,
)


def _parse_batch(batch: str) -> int | None:
    if batch == "dynamic":
        return None
    if batch.isdigit() and int(batch) > 0:
        return int(batch)
    raise typer.BadParameter(
        f"expected 'dynamic' or a positive batch size, got {batch!r}", param_hint="--batch"
    )


def export(
    checkpoint: Annotated[str, typer.Argument(help=CHECKPOINT_HELP)],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .onnx file to write.")] = Path("model.onnx"),
    format: Annotated[str, typer.Option("--format", help="File format (onnx).")] = "onnx",
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps", min=1, help="Supervision steps the runtime runs by default (default: N_sup)."
        ),
    ] = None,
    batch: Annotated[str, typer.Option("--batch", help="'dynamic' or a fixed batch size.")] = "dynamic",
    quantize: Annotated[
        str | None, typer.Option("--quantize", help="int8: dynamic int8 weights (onnxruntime's quantizer).")
    ] = None,
    exporter: Annotated[
        str, typer.Option("--exporter", help="torchscript or dynamo (torch.onnx).")
    ] = "torchscript",
    arch: ArchOption = None,
    arch_config: ArchConfigOption = None,
    step: StepOption = None,
) -> None:
    """Export a trained model to ONNX: one supervision step, looped by the runtime, with the task, grid
    shape, vocabulary, N_sup and the run's config in the file's metadata."""
    if format != "onnx":
        raise typer.BadParameter(f"only 'onnx' is supported, got {format!r}", param_hint="--format")
    if quantize not in (None, "int8", "none"):
        raise typer.BadParameter(f"expected int8 or none, got {quantize!r}", param_hint="--quantize")
    if exporter not in ("torchscript", "dynamo"):
        raise typer.BadParameter(f"expected torchscript or dynamo, got {exporter!r}", param_hint="--exporter")
    fixed = _parse_batch(batch)
    if out.suffix != ".onnx":
        raise typer.BadParameter(f"the output should end in .onnx, got {out}", param_hint="--out")

    from trm.export import export_checkpoint
    from trm.runtime import OnnxSolver

    path = export_checkpoint(
        checkpoint, out, steps=steps, batch=fixed, quantize=None if quantize == "none" else quantize,
        exporter=exporter, **load_options(arch, arch_config, step),  # type: ignore[arg-type]
    )  # fmt: skip
    info = OnnxSolver(path).info
    size = path.stat().st_size
    shape = "x".join(str(s) for s in info.dataset.grid_shape)
    typer.echo(
        f"wrote {path} ({size / 1e6:.2f} MB, {info.quantization}): task {info.task} {shape}, "
        f"vocab {info.dataset.vocab_size}, N_sup {info.n_sup}, runs {info.steps} steps, "
        f"batch {'dynamic' if info.batch is None else info.batch}"
    )
    typer.echo(f"solve with: trm solve --checkpoint {path} PUZZLE")
