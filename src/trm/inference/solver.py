"""Solve single puzzles with a trained model and keep the trace of its refinement steps.

Design choices:

- **Task-generic.** A puzzle is read, encoded and decoded by the codec of the dataset's task
  (:func:`trm.data.tasks.get_task` on ``metadata.task``); the solver never knows what a Sudoku is.
- **The evaluation protocol, one puzzle at a time.** All N supervision steps run (N = ``steps``, default
  the model's N_sup; more than N_sup is allowed), through the rollout engine (:mod:`trm.rollout`) with
  its step record. The answer is the last step's grid; ``halted_at`` is the first step whose q_halt > 0,
  i.e. where the halting head would have stopped.
- **A trace of every step**: the decoded grid, which cells changed since the previous step (step 1 is
  compared with the question), q_halt, and whether the grid is a valid answer by the task's rules.
- ``puzzle_identifier`` defaults to 0, the shared identifier of Sudoku and Maze datasets; tasks with one
  identifier per puzzle (ARC) must pass the identifier the model was trained with.
- Puzzles may be text, a path to a text file, or an array of task values; ``solve_many`` batches them.
- ``Solution``/``Step`` and the batching live in :mod:`trm.inference.trace` (no torch), shared with the
  ONNX runtime :class:`trm.runtime.OnnxSolver`; this class only adds the PyTorch runner ``_run``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trm.config import RunConfig
from trm.data.format import DatasetMetadata
from trm.data.tasks import Task, get_task
from trm.device import autocast, pick_dtype
from trm.inference.trace import Puzzle, Solution, Step, parse_puzzle, solve_in_batches
from trm.rollout import StepRecord, rollout, rollout_steps
from trm.rollout.torch_step import TorchStepper
from trm.scoring import IGNORE_LABEL

__all__ = ["Puzzle", "Solution", "Solver", "Step"]


class Solver:
    """A model with its dataset metadata, ready to solve puzzles of its task."""

    def __init__(
        self,
        model: nn.Module,
        config: RunConfig,
        metadata: DatasetMetadata,
        *,
        dtype: torch.dtype | str = "auto",
    ) -> None:
        self.model = model.eval()
        self.config = config
        self.metadata = metadata
        self.task: Task = get_task(metadata.task, metadata)  # a grid codec reads its vocabulary there
        params = list(model.parameters())
        self.device = params[0].device if params else torch.device("cpu")
        self.dtype = pick_dtype(self.device, dtype) if isinstance(dtype, str) else dtype

    @classmethod
    def load(
        cls,
        checkpoint: str | Path,
        device: str = "auto",
        *,
        use_ema: bool = True,
        verify: bool = True,
        config: RunConfig | None = None,
        arch: str | dict | None = None,
        arch_config: str | Path | None = None,
        step: int | None = None,
    ) -> Solver:
        """From any checkpoint spec (``trm.checkpoints.load_any``): a run dir, its checkpoints dir, a step
        dir, a weights file in a published layout or its folder, or ``hf://owner/repo[/path][@revision]``.
        ``arch``/``arch_config``: the architecture of a checkpoint without a config; ``step``: which of
        a folder's steps."""
        from trm.checkpoints import load_any

        loaded = load_any(
            checkpoint, device=device, use_ema=use_ema, verify=verify, config=config,
            arch=arch, arch_config=arch_config, step=step,
        )  # fmt: skip
        return cls(*loaded)

    # -- reading puzzles -----------------------------------------------------------------------------------
    def parse(self, puzzle: Puzzle) -> np.ndarray:
        """Text, a path to a text file, or an array of task values -> question grid."""
        return parse_puzzle(self.task, puzzle)

    # -- solving -------------------------------------------------------------------------------------------
    def solve(
        self, puzzle: Puzzle, *, steps: int | None = None, puzzle_identifier: int = 0, ttc=None
    ) -> Solution:
        """Run all supervision steps on one puzzle and return the answer with its trace.

        ``ttc``: a test-time compute spec (``"noise:k=16,sigma=0.2"``, see :mod:`trm.inference.ttc.spec`);
        then the result is a :class:`trm.inference.ttc.solve.TTCSolution` with the chosen answer and every
        candidate."""
        if ttc is not None:
            from trm.inference.ttc.solve import solve_with_ttc

            return solve_with_ttc(self, puzzle, ttc, steps=steps, puzzle_identifier=puzzle_identifier)
        return self.solve_many([puzzle], steps=steps, puzzle_identifier=puzzle_identifier)[0]

    def solve_many(
        self,
        puzzles: Sequence[Puzzle],
        *,
        steps: int | None = None,
        puzzle_identifier: int = 0,
        batch_size: int = 256,
    ) -> list[Solution]:
        """Solve a list of puzzles, ``batch_size`` at a time; results in input order."""
        n = rollout_steps(steps, self.model.n_sup)
        return solve_in_batches(
            self.task, self.metadata, puzzles, lambda t: self._run(t, n, puzzle_identifier), batch_size
        )

    def _run(self, tokens: np.ndarray, n: int, puzzle_identifier: int) -> tuple[np.ndarray, np.ndarray]:
        """Token rows [b, L] -> argmax tokens after each step [n, b, L] and halting signals [n, b]."""
        tokens = np.asarray(tokens, dtype=np.int64)  # [b, L]
        rows = {
            "inputs": tokens,
            "labels": np.full_like(tokens, IGNORE_LABEL),  # unknown: nothing is scored
            "puzzle_identifiers": np.full(len(tokens), puzzle_identifier, dtype=np.int64),
        }
        stepper = TorchStepper(self.model, self.device)
        with torch.inference_mode(), autocast(self.device, self.dtype):
            record = StepRecord(stepper, len(tokens), tokens.shape[1], keep_every=True)
            for event in rollout(stepper, [rows], steps=n):
                record.update(event)
            trace = record.result(n)
        return trace.every, trace.every_q
