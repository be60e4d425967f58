"""The ONNX runtime path imports no torch: ``OnnxSolver`` and ``trm solve --checkpoint model.onnx`` run in a
subprocess where importing torch is made to fail, and leave no torch module behind."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from trm.config import load_recipe
from trm.data.format import DatasetMetadata
from trm.data.sudoku import format_grid, generate
from trm.export import export_model
from trm.models import build_model
from trm.runtime import OnnxSolver

META = DatasetMetadata(task="sudoku", vocab_size=8, seq_len=36, grid_shape=(6, 6), num_puzzle_identifiers=1)

# Run first in the child: any `import torch` (or torch.*) raises, so the check does not depend on the
# import order; sys.modules is inspected at the end as well.
NO_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"torch import attempted: {name}")
sys.meta_path.insert(0, _NoTorch())
"""


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    tiny = [
        "model.hidden_size=16",
        "model.width_multiple=16",
        "model.halt_max_steps=2",
        "model.puzzle_emb_len=2",
    ]
    config = load_recipe("quickstart", overrides=tiny)
    torch.manual_seed(0)
    model = build_model(config, META).eval()
    return export_model(model, config, META, tmp_path_factory.mktemp("rt") / "model.onnx")


def run_child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", NO_TORCH + code], capture_output=True, text=True, timeout=120
    )


def test_onnx_solver_imports_no_torch(onnx_file):
    puzzle = format_grid(generate(6, count=1, seed=3)[0].puzzle)
    code = f"""
import json
import trm.runtime
light = "onnxruntime" not in sys.modules  # importing the package stays cheap
from trm.runtime import OnnxSolver
s = OnnxSolver({str(onnx_file)!r}).solve({puzzle!r})
mods = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "onnx"))
print(json.dumps({{"light": light, "mods": mods, "answer": s.answer.tolist(), "steps": len(s.trace)}}))
"""
    child = run_child(code)
    assert child.returncode == 0, child.stderr
    out = json.loads(child.stdout.strip().splitlines()[-1])
    assert out["light"] and out["mods"] == []  # neither torch nor the onnx package
    here = OnnxSolver(onnx_file).solve(puzzle)
    assert out["answer"] == here.answer.tolist() and out["steps"] == 2


def test_trm_solve_onnx_imports_no_torch(onnx_file):
    puzzle = format_grid(generate(6, count=1, seed=4)[0].puzzle)
    code = f"""
from trm.cli import main
try:
    main(["solve", {puzzle!r}, "--checkpoint", {str(onnx_file)!r}, "--trace"])
except SystemExit as e:
    assert not e.code, e.code
assert not [m for m in sys.modules if m.split(".")[0] == "torch"]
print("no torch")
"""
    child = run_child(code)
    assert child.returncode == 0, child.stderr
    assert "after 2 steps" in child.stdout and child.stdout.strip().endswith("no torch")
