"""ARC's evaluator plugin (``ArcTask.evaluator``): vote over every augmented variant of each test input.

The reference code keeps ARC out of its trainer as an evaluator with ``begin_eval`` / ``update_batch`` /
``result``; this is that evaluator for our trainer and evaluation. ``update`` collects the final predictions
and halting logits of the examples it is given; ``result`` votes on them with
:func:`trm.data.arc.voting.vote_on_dataset` (fresh votes each evaluation, metrics ``arc/...``). With
``pool_votes`` (``eval.pool_votes``) it also keeps a table of every evaluation's votes summed and scores it
(``arc/pooled/...``), as the reference's evaluator, which never clears its votes, does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trm.data.arc.voting import VoteTable, vote_on_dataset


class VotingEvaluator:
    def __init__(self, data: str | Path, *, pool_votes: bool = False) -> None:
        self.data = data
        self.pooled: VoteTable | None = VoteTable() if pool_votes else None
        self.begin()

    def begin(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def update(self, indices: np.ndarray, predictions: np.ndarray, q_halt: np.ndarray) -> None:
        self._parts.append((np.asarray(indices), np.asarray(predictions), np.asarray(q_halt)))

    def result(self) -> dict[str, float]:
        if not self._parts:
            raise ValueError("the ARC evaluator got no predictions between begin() and result()")
        indices, predictions, q_halt = (np.concatenate(p) for p in zip(*self._parts, strict=True))
        votes = vote_on_dataset(self.data, predictions, q_halt, indices=indices, pooled=self.pooled)
        return votes.metrics
