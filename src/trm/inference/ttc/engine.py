"""Test-time compute for a batch of puzzles: build the candidate rows, run them, map back, select.

For P puzzles and a spec with ``augment:k=A`` and ``noise:k=M`` there are K = A x M candidates per puzzle,
laid out puzzle-major: candidate c = a * M + j is trajectory j of copy a (copy 0 = the puzzle itself,
trajectory 0 = no noise), so candidate 0 is the plain pass. All P x K rows are one batch (a repeat of each
puzzle's row, no Python loop over K), cut into chunks of at most ``max_rows`` rows so memory stays bounded
for large K (a chunk holds whole groups of M rows). Answers are mapped back to the puzzle's frame before
anything is selected. ``smc`` is ``noise`` with the particle filter (:mod:`.particles`) on each group of
M rows; ``gate=q|agree`` runs the plain pass first and the search only where it is unsure (``_run_gated``).

:class:`TTCRunner` keeps the seeded generators across calls, so an evaluation that calls it batch by
batch is reproducible for a given seed and batch size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from trm.device import autocast
from trm.inference.ttc import augment
from trm.inference.ttc.particles import ParticleFilter
from trm.inference.ttc.select import halt_probability, select
from trm.inference.ttc.spec import TTCSpec
from trm.inference.ttc.trajectories import Trajectories, run_trajectories
from trm.rollout import StepModel, rollout_steps

_PER_ROW = ("best", "best_q", "best_step", "last", "last_q", "steps")


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
    searched: np.ndarray | None = None  # [P] bool: the search ran (gate=q keeps the plain answer elsewhere)
    # smc with record_steps: [N, P, K] the candidate whose state candidate k continued into step n + 1
    # (itself unless resampled before that step); ``every[n]`` is the answer after step n + 1
    parent: np.ndarray | None = None

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
        self._smc_rng = np.random.default_rng([spec.seed, 1])  # resampling draws
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

    def _trajectories(
        self, rows: np.ndarray, ids: np.ndarray, noisy: np.ndarray, group: int, *, smc: bool, first: int = 1,
        record_steps: bool = False,
    ) -> dict[str, np.ndarray]:  # fmt: skip
        """Run candidate rows [R, L] in chunks of whole groups of ``group`` rows; per-row results [R, ...]
        (``every``, ``every_q``, ``parent``: [N, R, ...]). ``smc``: the particle filter on each group;
        with ``record_steps`` its ancestry too (``parent``: [N, R] row indices into ``rows``)."""
        spec = self.spec
        size = max(group, self.max_rows // group * group)  # a group's particles share one batch
        parts: list[Trajectories] = []
        filters: list[tuple[int, ParticleFilter]] = []  # (first row, its filter) per chunk
        with torch.inference_mode(), autocast(self.device, self.dtype):
            for lo in range(0, len(rows), size):
                hi = min(lo + size, len(rows))
                batch = {
                    "inputs": torch.as_tensor(rows[lo:hi].astype(np.int64), device=self.device),
                    "puzzle_identifiers": torch.as_tensor(ids[lo:hi], device=self.device),
                }
                particles = None
                if smc:

                    def particles(stepper, n=hi - lo, lo=lo):
                        pf = ParticleFilter(
                            stepper, n, group, first=first, resample=spec.resample, every=spec.every,
                            stop=spec.stop, conf=spec.conf, rng=self._smc_rng,
                        )  # fmt: skip
                        filters.append((lo, pf))
                        return pf

                parts.append(
                    run_trajectories(
                        self.model,
                        batch,
                        self.steps,
                        noisy=torch.as_tensor(noisy[lo:hi]),
                        sigma=spec.sigma,
                        noise_on=spec.noise_on,
                        noise_until=spec.until,
                        early_exit=spec.early_exit,
                        generator=self._generator,
                        record_steps=record_steps,
                        particles=particles,
                    )
                )
        out = {n: np.concatenate([getattr(t, n) for t in parts]) for n in _PER_ROW}
        if record_steps:
            out["every"] = np.concatenate([t.every for t in parts], axis=1)
            out["every_q"] = np.concatenate([t.every_q for t in parts], axis=1)
            if smc:
                parent = np.tile(np.arange(len(rows)), (self.steps, 1))  # [N, R]
                for lo, pf in filters:
                    for n, rows_parent in pf.ancestry.items():
                        parent[n, lo : lo + len(rows_parent)] = lo + rows_parent
                out["parent"] = parent
        return out

    def run(self, tokens: np.ndarray, puzzle_ids: np.ndarray, *, record_steps: bool = False) -> Candidates:
        """Candidates of the puzzles ``tokens`` [P, L] with identifiers ``puzzle_ids`` [P]."""
        tokens = np.asarray(tokens)
        ids = np.asarray(puzzle_ids, dtype=np.int64)
        if self.spec.gate != "none":
            return self._run_gated(tokens, ids, record_steps)
        p, k, m = tokens.shape[0], self.spec.candidates, self.spec.noise_k
        rows, inverse = self._rows(tokens)
        noisy = np.tile(np.arange(m) > 0, p * self.spec.augment_k)  # trajectory 0 clean
        t = self._trajectories(
            rows, np.repeat(ids, k), noisy, m, smc=self.spec.smc, record_steps=record_steps
        )
        per_puzzle = {n: t[n].reshape(p, k, *t[n].shape[1:]) for n in _PER_ROW}
        for n in ("best", "last"):
            per_puzzle[n] = self._to_frame(t[n], inverse, p)
        if record_steps:
            per_puzzle["every"] = self._to_frame(t["every"], inverse, p)
            per_puzzle["every_q"] = t["every_q"].reshape(-1, p, k)
            if "parent" in t:  # rows are puzzle-major: a row's index within its puzzle is its candidate
                per_puzzle["parent"] = t["parent"].reshape(-1, p, k) % k
        return self._candidates(per_puzzle, np.ones(p, dtype=bool))

    def _run_gated(self, tokens: np.ndarray, ids: np.ndarray, record_steps: bool) -> Candidates:
        """The plain pass on every puzzle (candidate 0), then the particle search only where it is unsure:
        ``gate=q``: its halting probability is below ``tau`` (K - 1 particles); ``gate=agree``: one noisy
        probe (candidate 1, on every puzzle) ends with another answer (K - 2 particles). ``wave=W``: the
        particles run W at a time, each wave only on the puzzles where no candidate after the plain pass
        has ended with a halting probability >= ``tau`` yet. A slot that did not run holds the plain
        answer, at no cost (steps 0)."""
        p, k = tokens.shape[0], self.spec.noise_k
        plain = self._trajectories(
            tokens, ids, np.zeros(p, dtype=bool), 1, smc=False, record_steps=record_steps
        )
        names = [*_PER_ROW, *(("every", "every_q") if record_steps else ())]
        full = {}
        for n in names:
            x = plain[n]
            axis = 2 if n.startswith("every") else 1  # [N, P, ...] or [P, ...]
            full[n] = np.repeat(np.expand_dims(x, axis), k, axis=axis)
        full["steps"][:, 1:] = 0
        if record_steps:  # the plain pass and the probe are never resampled: each continues itself
            full["parent"] = np.broadcast_to(np.arange(k), (self.steps, p, k)).copy()

        def put(t: dict[str, np.ndarray], where: np.ndarray, lo: int) -> None:
            c = len(t["steps"]) // len(where)  # candidates per puzzle in t
            for n in names:
                if n.startswith("every"):
                    full[n][:, where, lo : lo + c] = t[n].reshape(
                        t[n].shape[0], len(where), c, *t[n].shape[2:]
                    )
                else:
                    full[n][where, lo : lo + c] = t[n].reshape(len(where), c, *t[n].shape[1:])

        if self.spec.gate == "q":
            unsure, first = halt_probability(plain["last_q"]) < self.spec.tau, 1
        else:
            probe = self._trajectories(
                tokens, ids, np.ones(p, dtype=bool), 1, smc=False, record_steps=record_steps
            )
            put(probe, np.arange(p), 1)
            unsure, first = (probe["last"] != plain["last"]).any(axis=1), 2
        u, lo = np.flatnonzero(unsure), first
        wave = self.spec.wave or k - first  # default: one wave of every searched particle
        while lo < k and len(u):
            m = min(wave, k - lo)
            rows = np.repeat(tokens[u], m, axis=0)
            t = self._trajectories(
                rows, np.repeat(ids[u], m), np.ones(len(rows), dtype=bool), m, smc=True, first=0,
                record_steps=record_steps,
            )  # fmt: skip
            put(t, u, lo)
            if record_steps:  # a wave's rows come in groups of m per puzzle, in slots lo .. lo + m - 1
                full["parent"][:, u, lo : lo + m] = lo + (t["parent"] % m).reshape(-1, len(u), m)
            lo += m
            # the next wave only where no searched candidate (the plain pass aside) is sure yet
            u = u[halt_probability(full["last_q"][u, 1:lo]).max(axis=1) < self.spec.tau]
        return self._candidates(full, unsure)

    def _candidates(self, c: dict[str, np.ndarray], searched: np.ndarray) -> Candidates:
        return Candidates(
            spec=self.spec,
            best=c["best"],
            best_q=c["best_q"],
            best_step=c["best_step"],
            last=c["last"],
            last_q=c["last_q"],
            steps=c["steps"],
            calls=c["steps"].sum(axis=1) * self.calls_per_step,
            every=c.get("every"),
            every_q=c.get("every_q"),
            searched=searched,
            parent=c.get("parent"),
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
