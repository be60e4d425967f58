"""``OnnxSolver``: solve puzzles with an exported ``.onnx`` file, using onnxruntime and NumPy only.

    solver = OnnxSolver("model.onnx")
    solution = solver.solve("..3.5.1..")      # same Solution (answer, valid, trace) as trm.Solver

Design choices:

- **No torch on this path.** This module imports onnxruntime (inside ``__init__``), NumPy, and from trm
  only the metadata reader, the task codecs, :mod:`trm.inference.trace` and the rollout engine, none of
  which imports torch
  (a subprocess test checks ``sys.modules``). So it runs where PyTorch is too heavy to install.
- **The same protocol and the same loop as the PyTorch solver.** The file is one supervision step
  (:mod:`trm.export.onnx_step`); :class:`OnnxStepper` makes it a stepper of the rollout engine
  (:func:`trm.rollout.engine.rollout`, torch-free), which loops it: step 1 feeds ``reset = True``
  (the graph starts from the model's y0, z0), later steps feed back ``y_out, z_out`` with ``reset =
  False``, so a slot keeps its puzzle for any number of steps (default ``trm.steps`` from the
  metadata, i.e. N_sup unless the export chose another). Each step's argmax tokens and halting
  signal go through :func:`trm.inference.trace.solve_in_batches`, the code the PyTorch solver uses, so
  answers, validity, step trace and ``halted_at`` are built identically.
- A graph exported with a fixed batch size gets every chunk padded to that size (copies of the first
  row; their outputs are dropped); a dynamic graph takes any batch.
- ``providers`` defaults to the CPU provider: the point of the runtime is small machines; pass e.g.
  ``["CUDAExecutionProvider", "CPUExecutionProvider"]`` to use a GPU build of onnxruntime.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trm.data.errors import InputError
from trm.data.tasks import Task, get_task
from trm.errors import MismatchError
from trm.inference.trace import Puzzle, Solution, parse_puzzle, solve_in_batches
from trm.rollout.engine import rollout
from trm.runtime.metadata import INPUTS, OUTPUTS, ExportInfo


class OnnxSolver:
    """An exported model with its metadata, ready to solve puzzles of its task."""

    def __init__(
        self, path: str | Path, *, threads: int | None = None, providers: Sequence[str] | None = None
    ) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no ONNX file at {self.path}")
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(
                str(self.path), options, providers=list(providers or ["CPUExecutionProvider"])
            )
        except Exception as e:  # onnxruntime raises its own exception types for unreadable files
            raise InputError(f"onnxruntime cannot load this file: {e}", file=str(self.path)) from None
        self.info = ExportInfo.from_props(self.session.get_modelmeta().custom_metadata_map, where=self.path)
        self.metadata = self.info.dataset
        self.config = self.info.config  # the run's config as plain JSON data
        self.task: Task = get_task(self.metadata.task, self.metadata)  # a grid codec reads its vocabulary
        declared = {i.name: i for i in self.session.get_inputs()}
        unknown = sorted(set(declared) - set(INPUTS))
        outputs = {o.name for o in self.session.get_outputs()}
        if unknown or "inputs" not in declared or not set(OUTPUTS) <= outputs:
            raise InputError(
                f"graph inputs {sorted(declared)} / outputs {sorted(outputs)} are not a trm supervision "
                f"step (inputs from {list(INPUTS)}, outputs {list(OUTPUTS)})",
                file=str(self.path),
            )
        self._inputs = [name for name in INPUTS if name in declared]
        self._state_shape = None  # (S, D) of y and z, when the graph reads them
        if "y" in declared:
            s, d = declared["y"].shape[1:]
            self._state_shape = (int(s), int(d))

    @property
    def steps(self) -> int:
        """Supervision steps run by default (the export's ``--steps``, else the model's N_sup)."""
        return self.info.steps

    def parse(self, puzzle: Puzzle) -> np.ndarray:
        """Text, a path to a text file, or an array of task values -> question grid."""
        return parse_puzzle(self.task, puzzle)

    def solve(
        self, puzzle: Puzzle, *, steps: int | None = None, puzzle_identifier: int = 0, ttc=None
    ) -> Solution:
        """Run all supervision steps on one puzzle and return the answer with its trace.

        ``ttc`` (test-time compute) is not available here: it needs the PyTorch solver's latent access."""
        if ttc is not None:
            raise MismatchError(
                "test-time compute (--ttc) needs the PyTorch solver; an .onnx model runs plain steps"
            )
        return self.solve_many([puzzle], steps=steps, puzzle_identifier=puzzle_identifier)[0]

    def solve_many(
        self,
        puzzles: Sequence[Puzzle],
        *,
        steps: int | None = None,
        puzzle_identifier: int = 0,
        batch_size: int | None = None,
    ) -> list[Solution]:
        """Solve a list of puzzles, ``batch_size`` at a time (default: a fixed-batch graph's size, else 256);
        results in input order."""
        n = int(steps or self.steps)
        if n <= 0:
            raise ValueError(f"steps must be positive, got {n}")
        rows = max(1, int(self.metadata.num_puzzle_identifiers))
        if not 0 <= puzzle_identifier < rows:
            raise MismatchError(
                f"puzzle_identifier {puzzle_identifier} is outside this model's 0..{rows - 1}"
            )
        size = batch_size or self.info.batch or 256
        return solve_in_batches(
            self.task, self.metadata, puzzles, lambda t: self.run(t, n, puzzle_identifier), size
        )

    def run(
        self, tokens: np.ndarray, steps: int, puzzle_identifier: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Token rows [b, L] -> argmax tokens after each step [n, b, L] and halting signals [n, b]."""
        tokens = np.asarray(tokens, dtype=np.int64)
        b = len(tokens)
        fixed = self.info.batch
        if fixed is not None and b > fixed:
            raise ValueError(
                f"{self.path} was exported for batch {fixed}; got {b} rows (use batch_size={fixed})"
            )
        if fixed is not None and b < fixed:
            tokens = np.concatenate([tokens, np.repeat(tokens[:1], fixed - b, axis=0)])  # pad; dropped below
        logits_all, halt_all = self.step_outputs(tokens, steps, puzzle_identifier)
        preds = np.stack([logits.argmax(-1) for logits in logits_all])[:, :b]  # [n, b, L]
        return preds, np.stack(halt_all)[:, :b]

    def step_outputs(
        self, tokens: np.ndarray, steps: int, puzzle_identifier: int | np.ndarray = 0
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Raw per-step outputs for token rows [B, L] (one identifier, or one per row [B]): logits
        [B, L, V] f32 and halting signals [B] f32 after each step."""
        b = len(tokens)
        rows = {
            "inputs": np.asarray(tokens, dtype=np.int64),
            "puzzle_identifiers": np.broadcast_to(np.asarray(puzzle_identifier, dtype=np.int64), (b,)).copy(),
        }
        logits_all, halt_all = [], []
        for event in rollout(OnnxStepper(self), [rows], steps=steps):
            logits_all.append(event.logits)
            halt_all.append(event.signal)
        return logits_all, halt_all


class OnnxStepper:
    """The exported supervision step as a :class:`trm.rollout.engine.Stepper` over NumPy arrays: the state
    is (y, z); ``reset`` is the graph's own input (slots that start from the model's y0, z0)."""

    def __init__(self, solver: OnnxSolver) -> None:
        self.session, self.inputs, self.state_shape = solver.session, solver._inputs, solver._state_shape

    def start(self, table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        b = len(table["inputs"])
        if self.state_shape is None:  # a graph that carries no state (the direct baseline, pruned)
            return {}
        return {k: np.zeros((b, *self.state_shape), dtype=np.float32) for k in ("y", "z")}

    def step(self, state, table, reset):
        feeds = {**table, **state, "reset": np.asarray(reset, dtype=bool)}
        y, z, logits, halt = self.session.run(
            list(OUTPUTS), {k: v for k, v in feeds.items() if k in self.inputs}
        )
        return ({"y": y, "z": z} if self.state_shape is not None else {}), logits, halt

    def preload(self, state, table, slots):
        raise MismatchError(
            "an exported graph resets its slots itself: no perturbation hook on the ONNX runtime"
        )

    def select(self, state, keep):
        return {k: v[keep] for k, v in state.items()}

    def to_device(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x)

    def to_host(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x)

    def argmax(self, logits: np.ndarray) -> np.ndarray:
        return logits.argmax(-1)

    def write(self, x: np.ndarray, index: np.ndarray, values: np.ndarray) -> np.ndarray:
        out = x.copy()
        out[index] = values
        return out
