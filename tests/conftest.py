"""Shared fixtures: tiny configurations that keep the suite fast on 2 CPU cores."""

from __future__ import annotations

import os

import pytest

# One intra-op thread: the tiny test models gain nothing from more, and two processes (the gloo tests, or a
# busy machine) each spinning two OpenMP threads on two cores slow small ops down by 5-20x.
os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)


def shared_data_dir():
    """The read-only test data beside the checkout (``../shared/data``), or ``$TRM_SHARED_DATA``."""
    from pathlib import Path

    env = os.environ.get("TRM_SHARED_DATA")
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parents[2] / "shared" / "data"
    return beside if beside.exists() else Path("/work/shared/data")  # this workplace's copy


def random_batch(b: int, seed: int, vocab: int, seq_len: int, num_ids: int) -> dict:
    """A reproducible batch of random tokens, labels and puzzle identifiers for model tests."""
    g = torch.Generator().manual_seed(seed)
    return {
        "inputs": torch.randint(0, vocab, (b, seq_len), generator=g),
        "labels": torch.randint(0, vocab, (b, seq_len), generator=g),
        "puzzle_identifiers": torch.randint(0, num_ids, (b,), generator=g),
    }
