"""The trainer's CPU thread count (``train.threads``, :mod:`trm.threads`): fixed, or tuned from its steps.

Design choices:

- A count is set on torch once, at start; ``auto`` on the CPU makes a tuner that the trainer feeds with
  each step's examples (per rank) and seconds, the run's first step left out (it warms up).
- A count the tuner chooses is said when it differs from the one said last, not at every probe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trm.threads import thread_tuner


class StepThreads:
    """Applies ``setting`` now; ``observe`` feeds the tuner, if there is one."""

    def __init__(self, setting: Any, device_type: str, say: Callable[[str], None]):
        self._say = say
        self._said: int | None = None  # the count last said
        self.tuner = None
        self.tuner = thread_tuner(setting, device_type, on_choice=self._chosen)

    def _chosen(self, count: int, rates: dict[int, float]) -> None:
        if count != self._said and self.tuner is not None:
            self._said = count
            self._say(f"threads: {self.tuner.describe()}")

    def observe(self, examples: int, seconds: float) -> None:
        """One step of ``examples`` (per rank) took ``seconds``."""
        if self.tuner is not None:
            self.tuner.observe(examples, seconds)
