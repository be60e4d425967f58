"""benchmarks/learning_curves.py: which test puzzles count as the hardest tenth."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np


def _curves():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "learning_curves.py"
    spec = importlib.util.spec_from_file_location("trm_benchmark_learning_curves_tenth", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ratings(tmp_path, ratings):
    (tmp_path / "test").mkdir(exist_ok=True)
    np.save(tmp_path / "test" / "ratings.npy", np.asarray(ratings))
    return tmp_path


def test_hardest_tenth_takes_the_top_ratings_and_never_the_whole_set(tmp_path):
    curves = _curves()
    spread = _ratings(tmp_path, np.arange(100) % 20)  # 0..19 five times: the 90th percentile is 18
    assert curves.hardest_tenth(spread, 100).tolist() == [i for i in range(100) if i % 20 >= 18]
    mostly_zero = _ratings(tmp_path, [0] * 95 + [1, 2, 1, 3, 2])  # percentile 0 takes everything
    assert curves.hardest_tenth(mostly_zero, 100).tolist() == [95, 96, 97, 98, 99]
    assert curves.hardest_tenth(_ratings(tmp_path, [4] * 100), 100) is None  # no spread, no tenth
    assert curves.hardest_tenth(_ratings(tmp_path, [-1] * 100), 100) is None  # unrated
    assert curves.hardest_tenth(spread, 99) is None  # not this split's ratings
