"""The step-model protocol: what a model must offer to be trained, evaluated, solved, served and exported.

A step model is called once per supervision step on a persistent batch of slots (the *carry*); the
trainer owns the deep-supervision loop, and :mod:`trm.rollout.engine` owns every other loop. TRM, HRM
(``trm.models.trm``, ``trm.models.hrm``) and the direct baseline (``trm.models.direct``) implement it;
the exported ONNX graph implements the same step as plain arrays (``trm.runtime.solver``).

    carry = model.initial_carry(batch)        every slot halted: the first call loads the rows of batch
    carry, out = model(carry, batch)          halted slots take their row of batch (fresh y0, z0, steps 0),
                                              then ONE supervision step on every slot
    out.logits [B, L, V], halt_signal(out) [B] (> 0: the halting head says stop)

Declared attributes (read directly, never probed with ``getattr``):

- ``n_sup``: N_sup, the supervision steps the model was trained with (the default rollout length);
- ``calls_per_step``: network calls of one supervision step (T(n+1) for TRM and HRM, 1 for direct);
- ``prefix_len``: P, the positions before the L cells (the puzzle-identifier prefix);
- ``puzzle_emb``: the sparse puzzle-identifier embedding, or None.

The y, z of ``initial_carry`` are the state a slot is reset to (TRM: y0, z0), so a rollout that must
perturb the very first step (test-time noise) can start from it with the flags cleared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # this module is imported by the torch-free runtime: no torch at run time
    from torch import Tensor, nn

    from trm.models.carry import Carry, StepOutput


@runtime_checkable
class StepModel(Protocol):
    """One supervision step on a persistent batch of slots (see the module docstring)."""

    @property
    def n_sup(self) -> int: ...  # N_sup

    @property
    def calls_per_step(self) -> int: ...  # network calls per supervision step

    @property
    def prefix_len(self) -> int: ...  # P

    @property
    def puzzle_emb(self) -> nn.Module | None: ...

    def initial_carry(self, batch: dict[str, Tensor]) -> Carry: ...

    def __call__(self, carry: Carry, batch: dict[str, Tensor]) -> tuple[Carry, StepOutput]: ...


def rollout_steps(steps: int | None, n_sup: int) -> int:
    """The supervision steps of a rollout: ``steps`` when given, else the model's N_sup; must be >= 1."""
    n = int(steps) if steps else int(n_sup)
    if n <= 0:
        raise ValueError(f"steps must be positive, got {n}")
    return n


def halt_signal(output: Any) -> Any:
    """[B] float32 whose sign is the halting head's decision: q_halt (TRM's single logit), or
    q_halt - q_continue with Q-learning halting (HRM's ACT halts when q_halt > q_continue)."""
    if output.q_continue is None:
        return output.q_halt.float()
    return (output.q_halt - output.q_continue).float()
