"""How many CPU threads torch uses: a fixed count, or one chosen by measuring, again and again.

Why it matters: torch's CPU build runs its parallel ops on OpenMP (GNU libgomp in the pip wheels).
Every parallel op ends at a barrier, so when another process takes a core, one of our threads is
descheduled and the others wait for it. A tiny model runs many small ops per step, so the waits
dominate: on a 2-core machine with one busy process, the quick-start trained at 117 examples/s on
2 threads and 285 on 1 (536 on 2 threads idle). No fixed count is best on both an idle and a busy
machine, and a machine changes between the two while a run goes on.

Design choices:

- ``ThreadTuner`` is told what each step did (``observe(examples, seconds)``) and holds no clock,
  so its decisions are a function of the rates it was given (the tests feed rates; nothing there
  depends on timing). It sets the count through an injected ``set_threads``.
- Probe: the first step on a count never used before is not measured (in a quick-start, the first
  2-thread steps ran 175 examples/s and later ones 503: oneDNN and the thread pool warm up per
  count). Each candidate (1 and the cores this process may use; also half of them on a bigger
  machine) then runs for at least ``probe_seconds`` and ``probe_steps`` steps (one step when it
  alone lasts twice ``probe_seconds``: a paper-size model's step is seconds long); a candidate whose
  first steps already run at less than half the best rate so far is dropped at once (a bad count is
  costly under contention, up to 10x slower). The fastest is kept.
- Watch: the kept count is measured over windows of ``window_seconds``. A window below ``drop``
  times the rate it was chosen at (the machine got busier) starts a new probe. So does the time:
  every ``reprobe_seconds`` of steps the other counts are tried again (the machine may have become
  idle, and on 1 thread a run would not notice); when a probe keeps the same count, the interval
  doubles (up to ``max_reprobe_seconds``), so a steady machine pays for few probes. The interval is
  also at least what the last probe lost against the best count, divided by ``probe_cost``: probes
  cost at most ~3% of the run even where one step at a bad count takes seconds.
- The OpenMP wait policy stays libgomp's default (threads spin a while at a barrier before they
  sleep). ``OMP_WAIT_POLICY=passive`` softens the 2-thread collapse under contention but cost ~20%
  on an idle 2-core machine (quick-start, 2 threads, 536 -> 422 examples/s), so the tuner, which
  gets both, is the mechanism; see docs/speed.md.
- ``threads`` settings: a positive int is used as is; 0 or ``"auto"`` mean the tuner, unless the
  environment sets ``OMP_NUM_THREADS`` (OpenMP's own way to fix the count; the test suite does).
  Off the CPU (CUDA, MPS) the count barely matters and nothing is tuned.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

AUTO = "auto"


def available_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def parse_threads(value: Any, where: str = "threads") -> int:
    """``"auto"`` / 0 -> 0 (automatic); a positive int -> itself; else a ValueError naming ``where``."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == AUTO:
            return 0
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{where}={value!r}: expected a thread count or 'auto'") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}={value!r}: expected a thread count >= 0 (0 = automatic) or 'auto'")
    return value


def candidates(cores: int) -> list[int]:
    """Counts worth probing on ``cores`` cores: 1, all of them and, on 4 or more, half of them."""
    return sorted({1, cores, max(1, cores // 2)})


class ThreadTuner:
    """Keeps the thread count that measures fastest (see the module docstring)."""

    def __init__(
        self,
        counts: list[int],
        set_threads: Callable[[int], None],
        *,
        probe_steps: int = 2,
        probe_seconds: float = 0.5,
        window_seconds: float = 4.0,
        drop: float = 0.7,
        reprobe_seconds: float = 30.0,
        max_reprobe_seconds: float = 240.0,
        probe_cost: float = 0.03,
        on_choice: Callable[[int, dict[int, float]], None] | None = None,
    ):
        if not counts or min(counts) < 1:
            raise ValueError(f"thread counts to probe must be positive, got {counts}")
        self.counts = sorted(set(counts))
        self._set = set_threads
        self.probe_steps, self.probe_seconds = probe_steps, probe_seconds
        self.window_seconds, self.drop = window_seconds, drop
        self.base_reprobe, self.max_reprobe = reprobe_seconds, max_reprobe_seconds
        self.reprobe_seconds, self.probe_cost = reprobe_seconds, probe_cost
        self.on_choice = on_choice
        self.choice: int | None = None  # the count kept by the last probe
        self.reference = 0.0  # the rate the choice was made at
        self.rates: dict[int, float] = {}  # the last probe's rates (examples/s)
        self.probes = 0  # probes finished
        self.hook: Any = None  # the forward hook feeding it, when tune_calls made it
        self._used: set[int] = set()  # counts that ran a step already
        self._since_probe = 0.0  # seconds of steps since the last probe ended
        self._start_probe()

    # -- the state machine --------------------------------------------------------------------------------
    def _start_probe(self) -> None:
        # The current choice goes first (no switch to start with), the others after it.
        order = [c for c in self.counts if c == self.choice] + [c for c in self.counts if c != self.choice]
        self._queue, self._in_probe, self._rates, self._spent = order, True, {}, {}
        self._begin(self._queue.pop(0))

    def _begin(self, count: int) -> None:
        self.current = count
        self._set(count)
        self._examples, self._seconds, self._steps = 0.0, 0.0, 0
        self._skip = count not in self._used  # the first step on a new count warms up (oneDNN, caches)
        self._used.add(count)

    def _finish_probe(self) -> None:
        best = max(self._rates, key=lambda c: self._rates[c])
        same = best == self.choice
        self.choice, self.reference, self.rates = best, self._rates[best], dict(self._rates)
        interval = min(2 * self.reprobe_seconds, self.max_reprobe) if same else self.base_reprobe
        # What the probe lost against running the best count throughout; the next probe waits long
        # enough that probing costs at most ``probe_cost`` of the time (one slow step can be seconds).
        lost = sum(sec - ex / self.reference for ex, sec in self._spent.values())
        self.reprobe_seconds = max(interval, lost / self.probe_cost)
        self._in_probe, self._since_probe = False, 0.0
        self.probes += 1
        self._begin(best)
        if self.on_choice is not None:
            self.on_choice(best, self.rates)

    def observe(self, examples: float, seconds: float) -> None:
        """One step of ``examples`` took ``seconds`` at the current count; may change the count."""
        if seconds <= 0:
            return
        if self._skip:
            self._skip = False
            return
        self._examples += examples
        self._seconds += seconds
        self._steps += 1
        rate = self._examples / self._seconds
        if self._in_probe:
            best = max(self._rates.values(), default=0.0)
            # enough: probe_seconds and probe_steps steps, or one step already twice probe_seconds long
            enough_steps = self._steps >= self.probe_steps or self._seconds >= 2 * self.probe_seconds
            done = enough_steps and self._seconds >= self.probe_seconds
            if done or rate < 0.5 * best:  # enough measured, or clearly worse than the best so far
                self._rates[self.current] = rate
                self._spent[self.current] = (self._examples, self._seconds)
                if self._queue:
                    self._begin(self._queue.pop(0))
                else:
                    self._finish_probe()
            return
        self._since_probe += seconds
        if self._seconds < self.window_seconds:
            return
        if rate < self.drop * self.reference or self._since_probe >= self.reprobe_seconds:
            self._start_probe()
            return
        self._examples, self._seconds, self._steps = 0.0, 0.0, 0

    def describe(self) -> str:
        """``"2 threads (1: 250, 2: 510 examples/s)"`` for logs."""
        rates = ", ".join(f"{c}: {r:,.0f}" for c, r in sorted(self.rates.items()))
        return f"{self.choice} thread{'s' if self.choice != 1 else ''} ({rates} examples/s)"


def torch_set_threads(count: int) -> None:
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


def thread_tuner(
    setting: Any, device_type: str = "cpu", *, cores: int | None = None, **kwargs: Any
) -> ThreadTuner | None:
    """Apply ``setting`` to torch: a fixed count is set now (None returned); ``auto``/0 on the CPU returns
    a tuner to feed with ``observe``; off the CPU, with one core, or when ``OMP_NUM_THREADS`` is set (the
    user chose a count for the whole process), None: torch's count stays."""
    n = parse_threads(setting)
    if n:
        torch_set_threads(n)
        return None
    cores = available_cores() if cores is None else cores
    if device_type != "cpu" or cores == 1 or os.environ.get("OMP_NUM_THREADS"):
        return None
    return ThreadTuner(candidates(cores), torch_set_threads, **kwargs)


class _ForwardHook:
    """Feeds a tuner from a model's calls: the time between two calls is the period of the caller's loop,
    the rows of the previous call its examples (the first call only starts the clock)."""

    def __init__(self, tuner: ThreadTuner):
        self.tuner, self.last, self.rows = tuner, None, 0

    def __call__(self, module: Any, args: tuple, kwargs: dict) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.tuner.observe(self.rows, now - self.last)
        batch = args[1] if len(args) > 1 else kwargs.get("batch")
        self.rows = batch["inputs"].shape[0] if isinstance(batch, dict) and "inputs" in batch else 1
        self.last = now


def tune_calls(model: Any, setting: Any, device_type: str = "cpu") -> ThreadTuner | None:
    """Apply ``setting``; when it is automatic, tune the count while ``model`` (called as
    ``model(carry, batch)``) runs in a loop, e.g. an evaluation. Returns the tuner (None: fixed count)."""
    tuner = thread_tuner(setting, device_type)
    if tuner is not None:
        tuner.hook = model.register_forward_pre_hook(_ForwardHook(tuner), with_kwargs=True)
    return tuner


@contextmanager
def tuned_forward(model: Any, setting: Any, device_type: str = "cpu") -> Iterator[ThreadTuner | None]:
    """:func:`tune_calls` for the duration of a ``with`` block; the hook is removed and the thread count
    in use before is restored on exit."""
    import torch

    before = torch.get_num_threads()
    tuner = tune_calls(model, setting, device_type)
    try:
        yield tuner
    finally:
        if tuner is not None:
            tuner.hook.remove()
        torch_set_threads(before)
