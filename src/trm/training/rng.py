"""Seeding and saving every random number generator a run touches (python, numpy, torch CPU and CUDA).

Design choices:

- ``seed_everything`` seeds all of them from one integer; the loader has its own generator seeded
  from the same ``train.seed`` (see ``trm.data.loader``).
- ``rng_state``/``set_rng_state`` capture the global generators in a checkpoint, so a resumed run
  draws the same exploration decisions as an uninterrupted one.
- ``preserved_rng`` brackets work that must not perturb training randomness (evaluation).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()  # the current device (each rank drives one)
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state:
        if not torch.cuda.is_available():
            raise RuntimeError("the saved state holds a CUDA generator but CUDA is not available here")
        torch.cuda.set_rng_state(state["cuda"].cpu())


@contextmanager
def preserved_rng() -> Iterator[None]:
    """Run a block without changing any global generator's state."""
    saved = rng_state()
    try:
        yield
    finally:
        set_rng_state(saved)
