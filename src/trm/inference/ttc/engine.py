"""Test-time compute for a batch of puzzles: build the candidate rows, run them, map back, select.

For P puzzles and a spec with ``augment:k=A`` and ``noise:k=M`` there are K = A x M candidates per puzzle,
laid out puzzle-major: candidate c = a * M + j is trajectory j of copy a (copy 0 = the puzzle itself,
trajectory 0 = no noise), so candidate 0 is the plain pass. All P x K rows are one batch (a repeat of each
puzzle's row, no Python loop over K), cut into chunks of at most ``max_rows`` rows so memory stays bounded
for large K. Answers are mapped back to the puzzle's frame before anything is selected.

:class:`TTCRunner` keeps the seeded generators across calls, so an evaluation that calls it batch by
batch is reproducible for a given seed and batch size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from trm.device import autocast
from trm.inference.ttc import augment
from trm.inference.ttc.select import select
from trm.inference.ttc.spec import TTCSpec
from trm.inference.ttc.trajectories import Trajectories, run_trajectories
from trm.rollout import StepModel, rollout_steps


@dataclass
class Candidates:
    """Every candidate of P puzzles (K per puzzle), in the puzzles' own frame."""

    spec: TTCSpec
    best: np.ndarray  # [P, K, L] tokens at each trajectory's highest-q step
    best_q: np.ndarray  # [P, K]
    best_step: np.ndarray  # [P, K] 1-based
    last: np.ndarray  # [P, K, L] tokens after the last step taken
    last_q: np.ndarray  # [P, K]
    steps: np.ndarray  # [P, K] supervision steps taken
    calls: np.ndarray  # [P] network calls spent on each puzzle
    every: np.ndarray | None = None  # [N, P, K, L] every step (record_steps)
    every_q: np.ndarray | None = None  # [N, P, K]

    def answers(self, at: str) -> tuple[np.ndarray, np.ndarray]:
        """(answers [P, K, L], q [P, K]) at ``at`` = "best" or "last"."""
        return (self.best, self.best_q) if at == "best" else (self.last, self.last_q)

    def choose(self, how: str | None = None, passes: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """[P] chosen candidate index under selection ``how`` (default: the spec's). ``passes`` maps "best"
        and "last" to the rule checker's [P, K] verdicts (``verify`` only)."""
        how = how or self.spec.select
        at = self.spec.answer_step(how)
        answers, q = self.answers(at)
        return select(how, answers, q, passes[at] if how == "verify" and passes else None)

    def chosen(self, index: np.ndarray, at: str) -> np.ndarray:
        """[P, L] the answers of candidates ``index`` [P] at step ``at``."""
        answers, _ = self.answers(at)
        return answers[np.arange(len(index)), index]


class TTCRunner:
    """A model, its task and a spec; ``run`` gives the candidates of a batch of puzzles."""

    def __init__(
        self,
        model: StepModel,
        spec: TTCSpec,
        *,
        task: str,
        grid_shape: tuple[int, int],
        vocab_size: int,
        device: torch.device,
        dtype: torch.dtype,
        max_rows: int = 1024,
    ) -> None:
        if max_rows <= 0:
            raise ValueError(f"max_rows must be positive, got {max_rows}")
        self.model, self.spec = model, spec
        self.task, self.grid_shape, self.vocab_size = task, tuple(grid_shape), vocab_size
        self.device, self.dtype, self.max_rows = device, dtype, max_rows
        self.steps = rollout_steps(spec.steps, model.n_sup)
        self.calls_per_step = model.calls_per_step
        self._np_rng = np.random.default_rng(spec.seed)
        self._generator = torch.Generator().manual_seed(spec.seed)
        if spec.augment_k > 1:  # fail before any compute when the task has no symmetries
            augment.draw_symmetries(
                task, self.grid_shape, vocab_size, 1, spec.augment_k, np.random.default_rng(0)
            )

    def _rows(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Puzzle rows [P, L] -> candidate rows [P*K, L] and the inverse symmetries (or None)."""
        a, m = self.spec.augment_k, self.spec.noise_k
        p = tokens.shape[0]
        copies = np.repeat(tokens, a, axis=0)  # [P*A, L] copy-major inside each puzzle
        inverse = None
        if a > 1:
            perm, tmap = augment.draw_symmetries(
                self.task, self.grid_shape, self.vocab_size, p, a, self._np_rng
            )
            copies = augment.apply(copies, perm, tmap)
            inverse = augment.invert(perm, tmap)
        return np.repeat(copies, m, axis=0), inverse  # [P*A*M, L]

    def _to_frame(self, rows: np.ndarray, inverse, p: int) -> np.ndarray:
        """Answer rows [P*K, L] (or [N, P*K, L]) -> [.., P, K, L] in the puzzles' own frame."""
        a, m = self.spec.augment_k, self.spec.noise_k
        lead = rows.shape[:-2]
        if inverse is not None:
            perm, tmap = (np.repeat(x, m, axis=0) for x in inverse)  # [P*K, ...]
            flat = rows.reshape(-1, *rows.shape[-2:])
            rows = np.stack([augment.apply(r, perm, tmap) for r in flat]).reshape(rows.shape)
        return rows.reshape(*lead, p, a * m, rows.shape[-1])

    def run(self, tokens: np.ndarray, puzzle_ids: np.ndarray, *, record_steps: bool = False) -> Candidates:
        """Candidates of the puzzles ``tokens`` [P, L] with identifiers ``puzzle_ids`` [P]."""
        tokens = np.asarray(tokens)
        p, k = tokens.shape[0], self.spec.candidates
        rows, inverse = self._rows(tokens)
        ids = np.repeat(np.asarray(puzzle_ids, dtype=np.int64), k)  # [P*K]
        noisy = np.tile(np.arange(self.spec.noise_k) > 0, p * self.spec.augment_k)  # trajectory 0 clean
        parts: list[Trajectories] = []
        with torch.inference_mode(), autocast(self.device, self.dtype):
            for lo in range(0, len(rows), self.max_rows):
                hi = lo + self.max_rows
                batch = {
                    "inputs": torch.as_tensor(rows[lo:hi].astype(np.int64), device=self.device),
                    "puzzle_identifiers": torch.as_tensor(ids[lo:hi], device=self.device),
                }
                parts.append(
                    run_trajectories(
                        self.model,
                        batch,
                        self.steps,
                        noisy=torch.as_tensor(noisy[lo:hi]),
                        sigma=self.spec.sigma,
                        noise_on=self.spec.noise_on,
                        early_exit=self.spec.early_exit,
                        generator=self._generator,
                        record_steps=record_steps,
                    )
                )

        def cat(name: str, axis: int = 0) -> np.ndarray:
            return np.concatenate([getattr(t, name) for t in parts], axis=axis)

        def per_puzzle(x: np.ndarray) -> np.ndarray:
            return x.reshape(p, k, *x.shape[1:])

        steps = per_puzzle(cat("steps"))
        return Candidates(
            spec=self.spec,
            best=self._to_frame(cat("best"), inverse, p),
            best_q=per_puzzle(cat("best_q")),
            best_step=per_puzzle(cat("best_step")),
            last=self._to_frame(cat("last"), inverse, p),
            last_q=per_puzzle(cat("last_q")),
            steps=steps,
            calls=steps.sum(axis=1) * self.calls_per_step,
            every=self._to_frame(cat("every", 1), inverse, p) if record_steps else None,
            every_q=cat("every_q", 1).reshape(-1, p, k) if record_steps else None,
        )


def rule_verdicts(
    task, questions: np.ndarray, answers: np.ndarray, grid_shape: tuple[int, int]
) -> np.ndarray:
    """The task's rule checker on every candidate: questions [P, L], answers [P, K, L] tokens -> [P, K] bool.

    ``Task.is_valid_answer(question, answer)`` sees the question and the answer only, never a label.
    """
    p, k = answers.shape[:2]
    out = np.zeros((p, k), dtype=bool)
    for i in range(p):
        question = task.decode(questions[i], grid_shape)
        seen: dict[bytes, bool] = {}
        for j in range(k):
            key = answers[i, j].tobytes()
            if key not in seen:
                seen[key] = bool(task.is_valid_answer(question, task.decode(answers[i, j], grid_shape)))
            out[i, j] = seen[key]
    return out
