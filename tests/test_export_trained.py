"""Exported models against PyTorch on a TRAINED quick-start-like model (slow: it trains one first).

The model: the ``quickstart`` recipe (MLP-T, d=64, 6x6 Sudoku as ``trm quickstart`` generates it) trained
for ``STEPS`` optimizer steps (the full quick-start: README, "Start here");
``TRM_EXPORT_TRAINED_RUN=<run dir>`` reuses a run (e.g. ``trm quickstart``'s) whose dataset is at
``<run dir>/data``. Stated margins, on the held-out puzzles:

- fp32: identical answers and step traces for all N_sup steps on at least 99% of the puzzles, the same
  validity rate within 1 point (measured on a briefly trained quick-start, 290 steps: identical on 100%
  of 200 puzzles for steps 1-7 and 99.5% at step 8; an untrained recursion amplifies fp32 rounding
  ~7x per step, a trained one much less);
- int8 (uint8 weights, exact integer matmuls on every x86 CPU): exact accuracy within 3 points and
  cell accuracy within 1 point of fp32 (measured on the same briefly trained model: cell accuracy
  0.339 int8 against 0.339 fp32, exact 0 for both; on a quick-start trained 799 steps, its 500
  held-out puzzles: exact 0.934 int8 against 0.940 fp32, cells 0.979 against 0.981, the same under
  the AVX2 emulation, ``benchmarks/export.py --int8-schemes``).

Run with ``pytest -m slow tests/test_export_trained.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from trm.data.format import open_split
from trm.export import export_model
from trm.export.quantize import quantize_int8
from trm.inference.solver import Solver
from trm.runtime import OnnxSolver

pytestmark = pytest.mark.slow
STEPS = 2000
PUZZLES = 300


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(fp32 PyTorch solver, questions, label tokens [E, L], fp32 .onnx, int8 .onnx)."""
    run = os.environ.get("TRM_EXPORT_TRAINED_RUN")
    if run is None:
        from trm.config import load_recipe
        from trm.data.sudoku.build_generated import build_from_generator
        from trm.training.loop import train

        root = tmp_path_factory.mktemp("trained")
        build_from_generator(root / "data", size=6, train_count=2000, test_count=PUZZLES, num_aug=8,
                             min_blanks=18, seed=0)  # fmt: skip
        config = load_recipe("quickstart", overrides=[
            f"out_dir={root}", f"data.path={root / 'data'}", f"train.max_steps={STEPS}",
            "train.max_minutes=null",
            "train.device=cpu", "logging.tensorboard=false",
        ])  # fmt: skip
        train(config, progress=False)
        run = root
    loaded = Solver.load(run, device="cpu")
    solver = Solver(loaded.model, loaded.config, loaded.metadata, dtype="float32")
    test = open_split(Path(run) / "data", "test")
    n = min(PUZZLES, test.num_examples)
    shape = solver.metadata.grid_shape
    questions = [solver.task.decode(np.asarray(test.inputs[i]), shape) for i in range(n)]
    out = tmp_path_factory.mktemp("onnx")
    fp32 = export_model(solver.model, solver.config, solver.metadata, out / "fp32.onnx")
    return solver, questions, np.asarray(test.labels[:n]), fp32, quantize_int8(fp32, out / "int8.onnx")


def accuracy(solver, questions, labels) -> tuple[float, float]:
    """(exact, cell) accuracy of the last step's answers against the label tokens."""
    shape = solver.metadata.grid_shape
    tokens = np.stack([solver.task.encode(s.answer, shape) for s in solver.solve_many(questions)])
    right = tokens == labels
    return float(right.all(axis=1).mean()), float(right.mean())


def test_trained_fp32_traces_equal_pytorch(trained):
    solver, questions, _, fp32, _ = trained
    ref = solver.solve_many(questions)
    got = OnnxSolver(fp32).solve_many(questions)
    assert any(r.valid for r in ref)  # the model has learned something: validity is a real check
    same = [
        all((a.grid == b.grid).all() and a.valid == b.valid for a, b in zip(r.trace, g.trace, strict=True))
        for r, g in zip(ref, got, strict=True)
    ]
    assert np.mean(same) >= 0.99
    assert abs(np.mean([r.valid for r in ref]) - np.mean([g.valid for g in got])) <= 0.01


def test_int8_accuracy_within_margin(trained):
    solver, questions, labels, fp32, int8 = trained
    exact32, cells32 = accuracy(OnnxSolver(fp32), questions, labels)
    exact8, cells8 = accuracy(OnnxSolver(int8), questions, labels)
    assert exact32 == accuracy(solver, questions, labels)[0]
    assert exact8 >= exact32 - 0.03 and cells8 >= cells32 - 0.01, (exact32, exact8, cells32, cells8)


def test_dynamo_exporter_matches_torchscript(trained, tmp_path):
    solver, questions, _, fp32, _ = trained
    dynamo = OnnxSolver(export_model(solver.model, solver.config, solver.metadata, tmp_path / "d.onnx",
                                     exporter="dynamo"))  # fmt: skip
    tokens = np.stack([solver.task.encode(q, solver.metadata.grid_shape) for q in questions[:64]])
    a, qa = OnnxSolver(fp32).step_outputs(tokens, 2)
    b, qb = dynamo.step_outputs(tokens, 2)
    for x, y in zip(a + qa, b + qb, strict=True):  # fp32 rounding of trained logits of size ~20
        assert np.abs(x - y).max() < 1e-4 * max(1.0, float(np.abs(y).max()))
