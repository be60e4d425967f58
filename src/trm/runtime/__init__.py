"""A solver runtime with onnxruntime and NumPy only (no torch): ``OnnxSolver("model.onnx").solve(puzzle)``.

Files come from ``trm export`` (:mod:`trm.export`). ``import trm.runtime`` imports neither torch nor
onnxruntime; onnxruntime is imported when an ``OnnxSolver`` is made.
"""

from __future__ import annotations

from trm.runtime.metadata import ExportInfo
from trm.runtime.solver import OnnxSolver

__all__ = ["ExportInfo", "OnnxSolver"]
