"""Stopping a run on request: SIGINT/SIGTERM become a flag the trainer checks between steps.

Design choices:

- The first SIGINT (Ctrl-C) or SIGTERM (a scheduler's preemption) only sets ``received``: the step in
  flight finishes, the trainer writes a checkpoint and raises ``TrainingInterrupted``. A second
  signal raises ``KeyboardInterrupt`` at once; the last complete checkpoint stays usable.
- Handlers are installed only from the main thread (Python's rule) and restored on exit, so a
  library caller's own handlers survive a ``train()`` call.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any


class TrainingInterrupted(KeyboardInterrupt):
    """Raised after a SIGINT/SIGTERM stop; ``checkpoint`` is where the run can be resumed from."""

    def __init__(self, checkpoint: Path | None):
        super().__init__(f"training interrupted; last checkpoint: {checkpoint}")
        self.checkpoint = checkpoint


class StopSignals:
    """Context manager: SIGINT/SIGTERM set ``received``; a second one raises KeyboardInterrupt."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._old: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum
        print(f"\nsignal {signum}: stopping after this step (again to stop at once)", file=sys.stderr)

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()
