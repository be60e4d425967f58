"""Rolling a step model out over supervision steps: the protocol a model implements and the one engine.

- :mod:`.protocol`: :class:`StepModel` (``initial_carry``, one supervision step, ``n_sup``,
  ``calls_per_step``, ``prefix_len``, ``puzzle_emb``), :func:`rollout_steps`, :func:`halt_signal`;
- :mod:`.engine`: :func:`rollout`, the loop (steps, early exit, continuous batching, compaction, the
  perturbation hook) over a small ``Stepper`` interface;
- :mod:`.record`: :class:`StepRecord`, the per-row answers (last, best, every step) of a rollout;
- :mod:`.torch_step`: :class:`~trm.rollout.torch_step.TorchStepper`, a PyTorch model as a stepper
  (the ONNX runtime has its own, :class:`trm.runtime.solver.OnnxStepper`).

Importing this package does not import torch (the ONNX runtime uses it); ``torch_step`` does.
See ``docs/design.md``, "The step-model protocol and the rollout engine".
"""

from trm.rollout.engine import StepEvent, Stepper, rollout
from trm.rollout.protocol import StepModel, halt_signal, rollout_steps
from trm.rollout.record import StepRecord, Trajectories

__all__ = [
    "StepEvent",
    "StepModel",
    "StepRecord",
    "Stepper",
    "Trajectories",
    "halt_signal",
    "rollout",
    "rollout_steps",
]
