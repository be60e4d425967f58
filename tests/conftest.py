"""Shared fixtures: tiny configurations that keep the suite fast on 2 CPU cores."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)


def shared_data_dir():
    """The read-only test data beside the checkout (``../shared/data``), or ``$TRM_SHARED_DATA``."""
    from pathlib import Path

    env = os.environ.get("TRM_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
