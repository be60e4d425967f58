"""The models a server holds: each checkpoint loaded once, given a short name, described for clients.

Design choices:

- Checkpoints load through :meth:`trm.Solver.load`, so every kind the library reads works here (run dirs,
  step dirs, and whatever else ``Solver.load`` accepts, e.g. ``hf://`` specs).
- A model's name is the run's folder name (``runs/quickstart/checkpoints/step_00000100`` -> ``quickstart``),
  or the last part of any other spec (``hf://owner/repo/sub@rev`` -> ``sub``); a second model with the
  same name becomes ``name-2``.
- ``describe()`` is exactly one entry of ``GET /api/models`` and of the MCP ``list_models`` tool; a task
  that names its cell values (a user's ``grid`` task) adds ``symbols``, value i drawn as ``symbols[i]``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from trm.inference.solver import Solver

_NOT_A_NAME = re.compile(r"^(checkpoints|last|latest|step_?\d+)$")


class ServeError(Exception):
    """A request the server refuses, with the HTTP status it maps to and a message in words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class ServedModel:
    name: str
    source: str  # the checkpoint spec it was loaded from
    solver: Solver

    @property
    def n_sup(self) -> int:
        """Supervision steps the model was trained with (the default number of steps)."""
        return self.solver.model.n_sup

    def describe(self) -> dict[str, Any]:
        from trm.models.cost import count_parameters

        info = {
            "name": self.name,
            "task": self.solver.metadata.task,
            "grid_shape": [int(x) for x in self.solver.metadata.grid_shape],
            "parameters": int(count_parameters(self.solver.model)),
            "n_sup": self.n_sup,
            "source": self.source,
        }
        symbols = self.solver.task.symbols  # a user's grid task names its cell values
        if symbols is not None:
            info["symbols"] = [str(s) for s in symbols]
        return info


def model_name(spec: str) -> str:
    """A short name for a checkpoint spec: the run folder's name, skipping ``checkpoints``/``step_N``."""
    text = str(spec)
    if text.startswith("hf://"):  # hf://owner/repo[/subfolder][@revision]
        text = text[len("hf://") :].split("@", 1)[0]
    text = text.rstrip("/")
    parts = [p for p in PurePosixPath(text.replace("\\", "/")).parts if p not in ("/", ".", "..")]
    while len(parts) > 1 and _NOT_A_NAME.match(parts[-1]):
        parts.pop()
    return parts[-1] if parts else "model"


def load_models(specs: Sequence[str], device: str = "auto", **load_options) -> dict[str, ServedModel]:
    """Load every checkpoint once; names are unique (``name``, ``name-2``, ...), in the given order.
    ``load_options`` (``arch``, ``arch_config``, ``step``) go to ``Solver.load`` for every spec."""
    if not specs:
        raise ValueError("give at least one checkpoint to serve")
    models: dict[str, ServedModel] = {}
    for spec in specs:
        base = model_name(spec)
        name, k = base, 1
        while name in models:
            k += 1
            name = f"{base}-{k}"
        models[name] = ServedModel(
            name=name, source=str(spec), solver=Solver.load(spec, device=device, **load_options)
        )
    return models


def pick_model(models: dict[str, ServedModel], name: str | None) -> ServedModel:
    """The model a request names; with one model served the name may be left out."""
    if name is None:
        if len(models) == 1:
            return next(iter(models.values()))
        raise ServeError(422, f"several models are served, name one in 'model': {', '.join(models)}")
    if name not in models:
        raise ServeError(404, f"unknown model {name!r}; served: {', '.join(models)}")
    return models[name]
