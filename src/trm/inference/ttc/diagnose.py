"""Diagnostics of a particle cloud: will search help this model? (``trm eval --ttc ... --diagnose``)

After guided stochastic exploration (arXiv 2605.25230), which reads three signals off the traces:

- **local stability**: the share of noisy candidates whose final answer equals the noise-free one
  (candidate 0). Near 1: small perturbations do not move the answer, so search has little to choose from.
- **guide alignment**: does a higher halting signal go with a better answer? The AUROC of q against
  correctness over every candidate (needs labels), and a label-free variant: the AUROC of q against
  agreeing with the puzzle's majority answer. 0.5 is chance; 1 means q ranks right answers first.
- **cloud-token entropy**: per cell, the entropy (nats) of the candidates' tokens, averaged over cells;
  also divided by log K (0: all candidates agree everywhere, 1: every candidate differs in every cell).

Inputs are a batch's candidates at the answer step (tokens [P, K, L], q [P, K]); :class:`Diagnostics`
collects batches and ``summary`` pools them (an AUROC needs every candidate at once). Only puzzles the
search ran on count (``searched``; the gate leaves the plain answer elsewhere). NaN where a quantity is
undefined (one candidate per puzzle, or one class only for an AUROC). Pure NumPy.
"""

from __future__ import annotations

import math

import numpy as np


def auroc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for ``positive`` (ties count half); NaN with one class."""
    score, positive = np.asarray(score, dtype=np.float64).ravel(), np.asarray(positive, dtype=bool).ravel()
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    sorted_score = score[order]
    ranks = np.empty(len(score), dtype=np.float64)
    # average rank over runs of equal scores
    _, start, counts = np.unique(sorted_score, return_index=True, return_counts=True)
    avg = start + (counts + 1) / 2.0  # 1-based mean rank of each run
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def majority_agreement(answers: np.ndarray) -> np.ndarray:
    """answers [P, K, L] -> [P, K] bool: the candidate gives its puzzle's most frequent answer."""
    out = np.zeros(answers.shape[:2], dtype=bool)
    for p in range(answers.shape[0]):
        _, group, counts = np.unique(answers[p], axis=0, return_inverse=True, return_counts=True)
        group = group.reshape(-1)
        out[p] = group == np.argmax(counts)
    return out


def cell_entropy(answers: np.ndarray) -> np.ndarray:
    """answers [P, K, L] -> [P] the per-cell entropy (nats) of the K candidates' tokens, mean over cells."""
    p, k, length = answers.shape
    out = np.zeros(p)
    for i in range(p):
        cells = answers[i].T  # [L, K]
        ent = 0.0
        for c in range(length):
            _, counts = np.unique(cells[c], return_counts=True)
            f = counts / k
            ent -= float((f * np.log(f)).sum())
        out[i] = ent / length
    return out


class Diagnostics:
    """Collects candidates batch by batch; ``summary()`` gives the pooled diagnostics."""

    def __init__(self) -> None:
        self._q: list[np.ndarray] = []
        self._right: list[np.ndarray] = []
        self._agree: list[np.ndarray] = []
        self._stable: list[np.ndarray] = []
        self._entropy: list[np.ndarray] = []
        self.k = 0

    def add(
        self, answers: np.ndarray, q: np.ndarray, right: np.ndarray | None, searched: np.ndarray | None = None
    ) -> None:
        """answers [P, K, L], q [P, K], right [P, K] bool (the candidate is exactly right) or None."""
        keep = np.ones(answers.shape[0], dtype=bool) if searched is None else np.asarray(searched, dtype=bool)
        answers, q = answers[keep], q[keep]
        self.k = answers.shape[1]
        self._q.append(q.ravel())
        if right is not None:
            self._right.append(np.asarray(right)[keep].ravel())
        self._agree.append(majority_agreement(answers).ravel())
        if self.k > 1:
            self._stable.append((answers[:, 1:] == answers[:, :1]).all(axis=-1).ravel())
        self._entropy.append(cell_entropy(answers))

    def summary(self) -> dict[str, float]:
        def cat(xs: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(xs) if xs else np.zeros(0)

        q, entropy = cat(self._q), cat(self._entropy)
        stable = cat(self._stable)
        nan = float("nan")
        out = {
            "diag_puzzles": float(len(entropy)),
            "diag_stability": float(stable.mean()) if len(stable) else nan,
            "diag_alignment": auroc(q, cat(self._right)) if self._right else nan,
            "diag_alignment_label_free": auroc(q, cat(self._agree)),
            "diag_entropy": float(entropy.mean()) if len(entropy) else nan,
        }
        out["diag_entropy_normalized"] = out["diag_entropy"] / math.log(self.k) if self.k > 1 else nan
        return out
