"""Shared fixtures: tiny configurations that keep the suite fast on 2 CPU cores."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)
