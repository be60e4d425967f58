"""Choosing one answer among a puzzle's K candidates: ``q``, ``vote``, ``wvote`` and ``verify``.

Inputs are candidate answers [P, K, L] (token rows, already in the puzzle's own frame), their halting
signals q [P, K] and, for ``verify``, a bool [P, K] from the task's rule checker. Outputs are candidate
indices [P]. Pure numpy, no model.

- ``q``: the candidate with the highest q; ties go to the lower index (candidate 0 is the plain pass).
- ``vote``: the answer given by the most candidates; ties between answers go to the higher mean q, then to
  the answer of the lowest-index candidate; the chosen index is the first candidate giving that answer.
- ``wvote``: the answer whose candidates' halting probabilities (sigmoid of q) sum highest, a q-weighted
  vote; ties go to the lowest-index candidate's answer.
- ``verify``: among the candidates whose answer passes the checker, the highest q; when none passes, the
  highest q of all. The checker (``Task.is_valid_answer``) looks at the question and the answer, never at
  the label; it is a rule checker the model does not have, so its accuracy is reported apart.
"""

from __future__ import annotations

import numpy as np


def select_q(q: np.ndarray) -> np.ndarray:
    """q [P, K] -> [P] index of the highest q (first on ties)."""
    return np.argmax(np.asarray(q), axis=1)


def select_vote(answers: np.ndarray, q: np.ndarray) -> np.ndarray:
    """answers [P, K, L], q [P, K] -> [P] index of a candidate with the most frequent answer."""
    answers, q = np.asarray(answers), np.asarray(q, dtype=np.float64)
    out = np.zeros(answers.shape[0], dtype=np.int64)
    for p in range(answers.shape[0]):
        _, first, group = np.unique(answers[p], axis=0, return_index=True, return_inverse=True)
        group = group.reshape(-1)  # numpy 2 may return it with an extra axis
        counts = np.bincount(group)
        mean_q = np.bincount(group, weights=q[p]) / counts
        # most votes, then higher mean q, then the earliest candidate: lexsort's last key is the primary one
        order = np.lexsort((first, -mean_q, -counts))
        out[p] = first[order[0]]
    return out


def halt_probability(q: np.ndarray) -> np.ndarray:
    """sigmoid(q) in float64, without overflow for any finite q."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(q, dtype=np.float64)))


def select_wvote(answers: np.ndarray, q: np.ndarray) -> np.ndarray:
    """answers [P, K, L], q [P, K] -> [P] index of the first candidate of the answer with the largest summed
    halting probability."""
    answers, w = np.asarray(answers), halt_probability(q)
    out = np.zeros(answers.shape[0], dtype=np.int64)
    for p in range(answers.shape[0]):
        _, first, group = np.unique(answers[p], axis=0, return_index=True, return_inverse=True)
        mass = np.bincount(group.reshape(-1), weights=w[p])
        order = np.lexsort((first, -mass))
        out[p] = first[order[0]]
    return out


def select_verify(q: np.ndarray, passes: np.ndarray) -> np.ndarray:
    """q [P, K], passes [P, K] bool -> [P] index: the highest q among passing candidates, else of all."""
    q, passes = np.asarray(q, dtype=np.float64), np.asarray(passes, dtype=bool)
    masked = np.where(passes, q, -np.inf)
    return np.where(passes.any(axis=1), np.argmax(masked, axis=1), np.argmax(q, axis=1))


def select(how: str, answers: np.ndarray, q: np.ndarray, passes: np.ndarray | None = None) -> np.ndarray:
    if how == "q":
        return select_q(q)
    if how == "vote":
        return select_vote(answers, q)
    if how == "wvote":
        return select_wvote(answers, q)
    if how == "verify":
        if passes is None:
            raise ValueError("select=verify needs the rule checker's verdicts")
        return select_verify(q, passes)
    raise ValueError(f"unknown selection {how!r}; known: q, vote, wvote, verify")
