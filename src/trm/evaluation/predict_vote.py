"""Predict an ARC dataset's test split with a model, then vote with the ARC task's voting.

What ``trm arc evaluate`` and ``trm arc adapt`` run per model. It sits in ``evaluation`` because it runs the
evaluator; the voting itself is the ARC task's (``trm.data.arc.voting``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trm.data.arc.voting import ArcResult, VoteTable, vote_on_dataset


def predict_and_vote(
    model: Any,
    root: str | Path,
    *,
    batch_size: int,
    dtype: Any = "auto",
    halt_max_steps: int | None = None,
    limit: int | None = None,
    submission_path: str | Path | None = None,
    pooled: VoteTable | None = None,
    progress: bool = False,
) -> tuple[Any, ArcResult]:
    """Predict every example of the ``test`` split of ARC dataset ``root`` with ``model`` (on its device) and
    vote: ``(EvalResult, ArcResult)``. What ``trm arc evaluate`` and ``trm arc adapt`` run per model."""
    from trm.data.format import open_split
    from trm.evaluation.evaluate import evaluate

    device = next(model.parameters()).device
    result = evaluate(
        model,
        open_split(root, "test"),
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        halt_max_steps=halt_max_steps,
        limit=limit,
        return_predictions=True,
        progress=progress,
    )
    arc = vote_on_dataset(
        root,
        result.predictions,
        result.q_halt,
        indices=result.indices,
        submission_path=submission_path,
        pooled=pooled,
    )
    return result, arc
