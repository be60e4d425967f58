"""Export trained models to portable files: ONNX (one supervision step, see ``onnx_step``), optional int8.

    path = export_checkpoint("runs/quickstart", "model.onnx", quantize="int8")
    OnnxSolver(path).solve(puzzle)          # trm.runtime: onnxruntime + NumPy, no torch

The file carries the task, dataset metadata, N_sup and the run's config (``trm.runtime.metadata``), so
it is enough to solve puzzles on its own. This package needs torch and onnx; the runtime needs neither.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from trm.runtime.metadata import ExportInfo

__all__ = ["export_checkpoint", "export_model"]


def export_model(
    model,
    config,
    metadata,
    out: str | Path,
    *,
    steps: int | None = None,
    batch: int | None = None,
    quantize: Literal["int8"] | None = None,
    exporter: Literal["torchscript", "dynamo"] = "torchscript",
    source: str = "",
) -> Path:
    """Export ``model`` (a TRM/HRM/direct nn.Module with its RunConfig and DatasetMetadata) to ``out``."""
    from trm import __version__
    from trm.export.onnx_step import export_step

    n_sup = model.n_sup
    if steps is not None and steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    if quantize not in (None, "int8"):
        raise ValueError(f"unknown quantization {quantize!r} (int8 or none)")
    info = ExportInfo(
        dataset=metadata,
        config=config.model_dump(mode="json"),
        n_sup=n_sup,
        steps=steps or n_sup,
        halting=model.config.halting,
        batch=batch,
        version=__version__,
        source=source,
    )
    out = Path(out)
    if quantize is None:
        return export_step(model, out, props=info.to_props(), batch=batch, exporter=exporter)
    from trm.export.quantize import quantize_int8

    with tempfile.TemporaryDirectory(prefix="trm-export-") as tmp:
        fp32 = export_step(
            model, Path(tmp) / "fp32.onnx", props=info.to_props(), batch=batch, exporter=exporter
        )
        return quantize_int8(fp32, out)


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    *,
    steps: int | None = None,
    batch: int | None = None,
    quantize: Literal["int8"] | None = None,
    exporter: Literal["torchscript", "dynamo"] = "torchscript",
    use_ema: bool = True,
    **load_options,
) -> Path:
    """Load a checkpoint (any ``Solver.load`` spec; EMA weights) and export it to ``out``.
    ``load_options``: ``arch``, ``arch_config``, ``step`` for a checkpoint without a trm config."""
    from trm.inference.solver import Solver

    solver = Solver.load(checkpoint, device="cpu", use_ema=use_ema, **load_options)
    return export_model(
        solver.model, solver.config, solver.metadata, out,
        steps=steps, batch=batch, quantize=quantize, exporter=exporter, source=str(checkpoint),
    )  # fmt: skip
