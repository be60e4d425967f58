"""What an exported ``.onnx`` file says about itself: the key-value metadata that makes it solvable alone.

An ONNX model carries string key-value pairs (``metadata_props``); onnxruntime reads them back as
``InferenceSession.get_modelmeta().custom_metadata_map``, so the runtime needs neither torch nor the
``onnx`` package to read them. Keys are prefixed ``trm.``; values are strings, JSON where structured:

    trm.format        "trm-onnx-step/1": the graph is ONE supervision step (see trm.export.onnx_step)
    trm.version       the trm version that wrote the file
    trm.task          the task codec's name (sudoku, maze, arc, ...)
    trm.dataset       the dataset's DatasetMetadata as JSON (task, grid shape, vocabulary, seq_len, ...)
    trm.config        the run's resolved RunConfig as JSON (the model's architecture under "model")
    trm.n_sup         the model's N_sup (supervision steps it was trained with)
    trm.steps         supervision steps the runtime runs by default (``trm export --steps``; default N_sup)
    trm.halting       "single" (halt when q_halt > 0) or "q_learning" (halt when q_halt > q_continue)
    trm.batch         "dynamic" or a fixed batch size
    trm.quantization  "none" or "int8" (dynamic int8 weights of the MatMuls)
    trm.source        where the weights came from (the checkpoint path), for provenance only

Reading checks the format tag and every required key; a failure is an ``InputError`` naming the file and
the key (the ``trm`` command prints it as one line).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trm.data.errors import InputError
from trm.data.format import DatasetMetadata

FORMAT = "trm-onnx-step/1"
# The graph's input and output names (see trm.export.onnx_step for their shapes).
INPUTS = ("inputs", "puzzle_identifiers", "y", "z", "reset")
OUTPUTS = ("y_out", "z_out", "logits", "halt_signal")
PREFIX = "trm."
_REQUIRED = ("format", "version", "task", "dataset", "config", "n_sup", "steps", "halting", "batch")


@dataclass
class ExportInfo:
    """The metadata of one exported model."""

    dataset: DatasetMetadata
    config: dict[str, Any]  # RunConfig as plain JSON data (model architecture under "model")
    n_sup: int  # the model's N_sup
    steps: int  # default supervision steps of the runtime
    halting: str  # "single" or "q_learning" (ModelConfig.halting)
    batch: int | None  # fixed batch size, or None for a dynamic batch axis
    version: str
    quantization: str = "none"
    source: str = ""

    @property
    def task(self) -> str:
        return self.dataset.task

    def to_props(self) -> dict[str, str]:
        """The ``trm.*`` string pairs to store in the ONNX file."""
        props = {
            "format": FORMAT,
            "version": self.version,
            "task": self.dataset.task,
            "dataset": self.dataset.to_json(),
            "config": json.dumps(self.config, sort_keys=True),
            "n_sup": str(self.n_sup),
            "steps": str(self.steps),
            "halting": self.halting,
            "batch": "dynamic" if self.batch is None else str(self.batch),
            "quantization": self.quantization,
            "source": self.source,
        }
        return {PREFIX + k: v for k, v in props.items()}

    @classmethod
    def from_props(cls, props: dict[str, str], where: str | Path = "model.onnx") -> ExportInfo:
        """Read the pairs written by :meth:`to_props`; a missing or malformed key is an error naming it."""
        get = {k[len(PREFIX) :]: v for k, v in props.items() if k.startswith(PREFIX)}

        def fail(message: str) -> InputError:
            return InputError(message, file=str(where))

        if "format" not in get:
            raise fail(f"not a trm export (no '{PREFIX}format' metadata key)")
        if get["format"] != FORMAT:
            raise fail(f"unsupported trm export format {get['format']!r} (this trm reads {FORMAT!r})")
        missing = [PREFIX + k for k in _REQUIRED if k not in get]
        if missing:
            raise fail(f"missing metadata keys {missing}")

        def parse_json(key: str) -> Any:
            try:
                return json.loads(get[key])
            except json.JSONDecodeError as e:
                raise fail(
                    f"metadata key '{PREFIX}{key}' is not valid JSON "
                    f"(line {e.lineno}, column {e.colno}): {e.msg}"
                ) from None

        def parse_int(key: str) -> int:
            try:
                return int(get[key])
            except ValueError:
                raise fail(f"metadata key '{PREFIX}{key}' is not an integer: {get[key]!r}") from None

        try:
            dataset = DatasetMetadata.from_dict(parse_json("dataset"), where=f"{PREFIX}dataset")
        except (TypeError, ValueError) as e:
            raise fail(str(e)) from None
        if dataset.task != get["task"]:
            raise fail(f"'{PREFIX}task' is {get['task']!r} but the dataset's task is {dataset.task!r}")
        if get["halting"] not in ("single", "q_learning"):
            raise fail(f"unknown '{PREFIX}halting' {get['halting']!r} (single or q_learning)")
        return cls(
            dataset=dataset,
            config=parse_json("config"),
            n_sup=parse_int("n_sup"),
            steps=parse_int("steps"),
            halting=get["halting"],
            batch=None if get["batch"] == "dynamic" else parse_int("batch"),
            version=get["version"],
            quantization=get.get("quantization", "none"),
            source=get.get("source", ""),
        )
