"""Requests that arrive together are solved together: one queue, one worker thread, batches per model.

Design choices:

- One queue for every served model, one worker thread for the model calls: the forward passes of a tiny
  model are cheap to batch and a second thread would only fight the first for the same cores. The event
  loop stays free to accept requests while a batch runs.
- When the queue goes from empty to busy, the worker waits ``batch_window_s`` so requests arriving
  together can join; requests that arrive while a batch runs join the next batch with no further wait.
  A batch holds up to ``max_batch`` requests with the same model, steps and test-time-compute spec
  (one ``Solver.solve_many`` call), oldest first.
- At most ``max_pending`` solves wait or run at once (over all models); one more is refused with 429
  and a message, instead of queueing without bound.
- If the solver refuses a batch (``ValueError``), each request of it is solved alone, so one bad request
  fails alone with 422 and the others still get answers.
- ``ttc`` is passed to the solver only when a request gives one, and only to a solver whose ``solve_many``
  (or ``solve``) takes a ``ttc`` parameter (see :func:`ttc_support`).
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from trm.inference.solver import Solution, Solver
from trm.serve.registry import ServedModel, ServeError
from trm.serve.request_io import Limits


def ttc_support(solver: Solver) -> str | None:
    """``"many"`` when ``solve_many`` takes ``ttc``, ``"one"`` when only ``solve`` does, else None."""
    for kind, method in (("many", solver.solve_many), ("one", solver.solve)):
        if "ttc" in inspect.signature(method).parameters:
            return kind
    return None


@dataclass
class _Job:
    served: ServedModel
    question: np.ndarray
    steps: int | None
    ttc: str | None
    future: asyncio.Future = field(repr=False)

    @property
    def key(self) -> tuple[str, int | None, str | None]:
        return (self.served.name, self.steps, self.ttc)


def _solve(jobs: list[_Job]) -> list[Solution]:
    """Solve jobs that share one key (model, steps, ttc) in one call."""
    first = jobs[0]
    solver, questions = first.served.solver, [j.question for j in jobs]
    if first.ttc is None:
        return solver.solve_many(questions, steps=first.steps)
    if ttc_support(solver) == "many":
        return solver.solve_many(questions, steps=first.steps, ttc=first.ttc)
    return [solver.solve(q, steps=first.steps, ttc=first.ttc) for q in questions]


def _solve_batch(jobs: list[_Job]) -> list[Solution | BaseException]:
    """One result or exception per job; a refused batch falls back to one job at a time."""
    try:
        return list(_solve(jobs))
    except ValueError as e:
        if len(jobs) == 1:
            return [ServeError(422, f"the solver refused the request: {e}")]
    except Exception as e:  # a bug: every job of the batch reports it
        return [e] * len(jobs)
    return [r for job in jobs for r in _solve_batch([job])]


class SolveQueue:
    """Admission (429 beyond ``max_pending``), batching and the worker thread for every served model."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.batch_sizes: deque[int] = deque(maxlen=1000)  # recent batch sizes, for /api/health and tests
        self._jobs: list[_Job] = []
        self._pending = 0
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trm-solve")

    @property
    def pending(self) -> int:
        return self._pending

    async def solve(
        self, served: ServedModel, question: np.ndarray, *, steps: int | None = None, ttc: str | None = None
    ) -> Solution:
        if self._pending >= self.limits.max_pending:
            raise ServeError(
                429,
                f"{self._pending} solves are already waiting or running (limit {self.limits.max_pending}); "
                "try again in a moment",
            )
        loop = asyncio.get_running_loop()
        job = _Job(served, question, steps, ttc, loop.create_future())
        self._pending += 1
        self._jobs.append(job)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        try:
            return await job.future
        finally:
            self._pending -= 1

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        if self.limits.batch_window_s:
            await asyncio.sleep(self.limits.batch_window_s)  # let requests that arrive together join
        while self._jobs:
            key = self._jobs[0].key
            batch = [j for j in self._jobs if j.key == key][: self.limits.max_batch]
            taken = {id(j) for j in batch}
            self._jobs = [j for j in self._jobs if id(j) not in taken]
            batch = [j for j in batch if not j.future.done()]  # a client that went away
            if not batch:
                continue
            self.batch_sizes.append(len(batch))
            results = await loop.run_in_executor(self._executor, _solve_batch, batch)
            for job, result in zip(batch, results, strict=True):
                if job.future.done():
                    continue
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
