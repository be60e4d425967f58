"""trm: tiny recursive reasoning models (TRM, HRM) for grid puzzles.

Python API (the CLI is a thin layer over it):

    cfg = trm.load_recipe("sudoku_mlp", overrides=["data.path=data/sudoku"])
    model = trm.build_model(cfg)
    trm.train(cfg)
    solver = trm.Solver.load("runs/sudoku_mlp/checkpoints/last")
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

from trm.config import RunConfig, load_recipe  # noqa: E402  (light: no torch)

_LAZY = {
    "build_model": "trm.models",
    "train": "trm.training.loop",
    "Solver": "trm.inference.solver",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'trm' has no attribute {name!r}")


__all__ = ["RunConfig", "load_recipe", "build_model", "train", "Solver", "__version__"]
