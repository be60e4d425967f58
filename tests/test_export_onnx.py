"""ONNX export and the torch-free runtime, on tiny untrained MLP-T, attention and HRM models (6x6 Sudoku).

Tolerances (fp32 graph against the fp32 PyTorch model, states and logits of unit scale):

- one supervision step from the same input state: logits, y, z and the halting signal within 1e-4;
  argmax tokens equal wherever PyTorch's top-two logits differ by more than 1e-3;
- whole solver runs (the runtime loops the graph on its own states): identical traces for 2 steps.
  Longer runs of an *untrained* model are chaotic: fp32 PyTorch itself drifts from a float64 run by
  ~7x per step (measured 1e-5 after step 1, 0.07 after step 6), so long-run equality is checked on a
  trained model in ``test_export_trained.py``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx
import pytest
import torch
from typer.testing import CliRunner

from conftest import shared_data_dir
from trm.checkpoints.run_dir import save_checkpoint
from trm.cli import app
from trm.config import RunConfig, load_recipe
from trm.data.format import DatasetMetadata
from trm.data.sudoku import format_grid, generate
from trm.errors import MismatchError
from trm.export import export_checkpoint, export_model
from trm.export.int8_kernels import saturation_risks
from trm.export.quantize import quantize_int8
from trm.inference.solver import Solver
from trm.models import build_model
from trm.runtime import ExportInfo, OnnxSolver
from trm.runtime.metadata import OUTPUTS

META = DatasetMetadata(task="sudoku", vocab_size=8, seq_len=36, grid_shape=(6, 6), num_puzzle_identifiers=1)
TINY = ["model.hidden_size=16", "model.num_heads=2", "model.width_multiple=16", "model.halt_max_steps=3",
        "model.puzzle_emb_len=4"]  # fmt: skip
ARCHS = {
    "mlp_t": ["model.mixer=mlp_t"],
    "attention": ["model.mixer=attention"],
    "hrm": ["model.arch=hrm", "model.mixer=attention", "model.h_layers=1", "model.l_layers=2",
            "model.halting=q_learning", "model.gradient=one_step", "model.puzzle_emb_len=1"],
}  # fmt: skip
ROWS = 300  # random grids per comparison


def tiny_model(arch: str, seed: int = 0):
    config = load_recipe("quickstart", overrides=TINY + ARCHS[arch])
    torch.manual_seed(seed)
    return build_model(config, META).eval(), config


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """arch -> (model, config, path of its fp32 export), each built and exported once per module."""
    cache = {}

    def get(arch: str):
        if arch not in cache:
            model, config = tiny_model(arch)
            cache[arch] = (
                model,
                config,
                export_model(model, config, META, tmp_path_factory.mktemp(arch) / "m.onnx"),
            )
        return cache[arch]

    return get


@pytest.fixture(params=sorted(ARCHS))
def exported(request, exports):
    return exports(request.param)


@pytest.fixture(scope="module")
def puzzles():
    return [p.puzzle for p in generate(6, count=40, seed=5)]


def random_tokens(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, META.vocab_size, size=(n, META.seq_len))  # blanks, digits


def test_one_step_matches_pytorch(exported):
    """From the same state, every step's outputs agree within 1e-4 on 300 grids, for every architecture."""
    model, _, path = exported
    session = OnnxSolver(path).session
    tokens = random_tokens(ROWS, seed=1)
    batch = {"inputs": torch.as_tensor(tokens), "puzzle_identifiers": torch.zeros(ROWS, dtype=torch.long)}
    names = [i.name for i in session.get_inputs()]
    with torch.no_grad():
        carry = model.initial_carry(batch)
        for k in range(model.halt_max_steps):
            if k:
                carry = replace(carry, halted=torch.zeros_like(carry.halted))
            feeds = {"inputs": tokens, "puzzle_identifiers": np.zeros(ROWS, np.int64),
                     "reset": carry.halted.numpy(), "y": carry.y.contiguous().numpy(),
                     "z": carry.z.contiguous().numpy()}  # fmt: skip
            y, z, logits, halt = session.run(list(OUTPUTS), {n: feeds[n] for n in names})
            carry, out = model(carry, batch)
            ref = out.logits.numpy()
            assert np.abs(logits - ref).max() < 1e-4
            assert np.abs(y - carry.y.numpy()).max() < 1e-4 and np.abs(z - carry.z.numpy()).max() < 1e-4
            signal = out.q_halt - (out.q_continue if out.q_continue is not None else 0)
            assert np.abs(halt - signal.numpy()).max() < 1e-4
            top2 = np.sort(ref, axis=-1)[..., -2:]
            clear = top2[..., 1] - top2[..., 0] > 1e-3
            assert clear.mean() > 0.99
            assert (logits.argmax(-1) == ref.argmax(-1))[clear].all()


def test_solver_matches_pytorch(exported, puzzles):
    """OnnxSolver gives PyTorch's answers, validity, changed cells, q values and halting step."""
    model, config, path = exported
    ref = Solver(model, config, META, dtype="float32").solve_many(puzzles, steps=2)
    got = OnnxSolver(path).solve_many(puzzles, steps=2, batch_size=16)
    assert len(got) == len(puzzles)
    for r, g in zip(ref, got, strict=True):
        assert (g.question == r.question).all() and (g.answer == r.answer).all()
        assert (g.valid, g.halted_at, g.task, len(g.trace)) == (r.valid, r.halted_at, r.task, 2)
        for a, b in zip(r.trace, g.trace, strict=True):
            assert a.index == b.index and (a.grid == b.grid).all() and (a.changed == b.changed).all()
            assert a.valid == b.valid and abs(a.q_halt - b.q_halt) < 1e-4


def test_metadata_round_trip(exported):
    """The file alone gives back the dataset metadata, the run config, N_sup and the halting rule."""
    model, config, path = exported
    info = OnnxSolver(path).info
    assert info.dataset == META and info.task == "sudoku"
    assert RunConfig.model_validate(info.config) == config
    assert (info.n_sup, info.steps, info.batch, info.quantization) == (3, 3, None, "none")
    assert info.halting == config.model.halting
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert ExportInfo.from_props(props) == info and info.to_props() == props


def test_metadata_errors_name_the_key(tmp_path):
    props = ExportInfo(META, {"a": 1}, n_sup=2, steps=2, halting="single", batch=None, version="0").to_props()
    with pytest.raises(ValueError, match="not a trm export"):
        ExportInfo.from_props({}, where="x.onnx")
    with pytest.raises(ValueError, match=r"missing metadata keys \['trm.n_sup'\]"):
        ExportInfo.from_props({k: v for k, v in props.items() if k != "trm.n_sup"})
    with pytest.raises(ValueError, match=r"'trm.config' is not valid JSON \(line 1, column 2\)"):
        ExportInfo.from_props({**props, "trm.config": "{oops"})
    with pytest.raises(ValueError, match="'trm.steps' is not an integer"):
        ExportInfo.from_props({**props, "trm.steps": "many"})
    with pytest.raises(ValueError, match="unsupported trm export format"):
        ExportInfo.from_props({**props, "trm.format": "trm-onnx-unrolled/9"})
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="bad.onnx: onnxruntime cannot load"):
        OnnxSolver(bad)
    with pytest.raises(FileNotFoundError, match="no ONNX file"):
        OnnxSolver(tmp_path / "missing.onnx")


def test_fixed_batch_and_default_steps(tmp_path, exports, puzzles):
    """A fixed-batch export pads its chunks; ``steps`` sets the runtime's default."""
    model, config, path = exports("mlp_t")
    dynamic = OnnxSolver(path)
    fixed = OnnxSolver(export_model(model, config, META, tmp_path / "b4.onnx", batch=4, steps=2))
    assert (fixed.info.batch, fixed.steps, dynamic.steps) == (4, 2, 3)
    a, b = dynamic.solve_many(puzzles[:6], steps=2), fixed.solve_many(puzzles[:6])  # chunks of 4 + 2 rows
    assert [len(s.trace) for s in b] == [2] * 6
    assert all((x.answer == y.answer).all() and x.valid == y.valid for x, y in zip(a, b, strict=True))
    with pytest.raises(ValueError, match="exported for batch 4"):
        fixed.run(random_tokens(5, seed=0), steps=1)


def test_int8_file(tmp_path, exports):
    """Every weight matmul becomes a u8 x u8 integer matmul that no x86 kernel can saturate (checked from
    the graph: uint8 weights), the metadata is kept, the weights shrink ~4x, and the answers stay close
    to fp32's.

    What depends on the CPU: only fp32 rounding (onnxruntime picks its float kernels by CPU) and hence,
    rarely, a rounding of an activation to the next uint8 step. The integer matmuls are exact on every
    x86 CPU (``trm.export.int8_kernels``). Measured on a VNNI CPU: 0.964 of the cells agree with fp32
    (onnxruntime's default int8 weights gave 0.956 there and 0.882 on an AVX2-only AMD EPYC, whose u8 x s8
    kernel saturates). Accuracy against fp32 on a trained model: ``test_export_trained.py`` and
    ``benchmarks/export.py --int8-schemes``; an untrained recursion amplifies int8 noise."""
    _, _, path = exports("attention")
    fp32 = OnnxSolver(path)
    int8 = OnnxSolver(quantize_int8(path, tmp_path / "int8.onnx"))
    assert int8.info.quantization == "int8"
    assert replace(int8.info, quantization="none") == fp32.info
    model = onnx.load(str(int8.path))
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    float_weight_matmuls = [
        n for n in graph.node if n.op_type in ("MatMul", "Gemm") and set(n.input) & set(weights)
    ]
    integer = [n for n in graph.node if n.op_type == "MatMulInteger"]
    assert not float_weight_matmuls and integer
    assert all(weights[n.input[1]].data_type == onnx.TensorProto.UINT8 for n in integer)
    assert saturation_risks(model) == []

    def weight_bytes(p):
        return sum(len(i.raw_data) for i in onnx.load(str(p)).graph.initializer)

    assert weight_bytes(int8.path) < 0.4 * weight_bytes(path)
    tokens = random_tokens(ROWS, seed=2)
    (l32,), _ = fp32.step_outputs(tokens, 1)
    (l8,), _ = int8.step_outputs(tokens, 1)
    assert (l8.argmax(-1) == l32.argmax(-1)).mean() > 0.9  # measured 0.964 (VNNI CPU)


def test_cli_export_then_solve(tmp_path, puzzles, monkeypatch):
    """``trm export`` writes a file that ``trm solve --checkpoint model.onnx`` solves as PyTorch does."""
    monkeypatch.setattr("trm.inference.solver.pick_dtype", lambda device, dtype: torch.float32)  # not bf16
    model, config = tiny_model("attention", seed=4)
    save_checkpoint(tmp_path / "run", step=1, epoch=0.0, model=model, config=config, metadata=META)
    runner = CliRunner()
    out = tmp_path / "model.onnx"
    result = runner.invoke(app, ["export", str(tmp_path / "run"), "--out", str(out), "--steps", "2"])
    assert result.exit_code == 0, result.output
    assert "task sudoku 6x6" in result.output and "runs 2 steps" in result.output
    puzzle = format_grid(puzzles[0])
    onnx_run = runner.invoke(app, ["solve", puzzle, "--checkpoint", str(out), "--trace"])
    torch_run = runner.invoke(app, ["solve", puzzle, "--checkpoint", str(tmp_path / "run"), "--steps", "2",
                                    "--trace", "--device", "cpu"])  # fmt: skip
    assert onnx_run.exit_code == 0 and torch_run.exit_code == 0, onnx_run.output + torch_run.output
    assert onnx_run.output == torch_run.output
    assert "after 2 steps" in onnx_run.output
    bad = runner.invoke(app, ["export", str(tmp_path / "run"), "--out", str(out), "--batch", "zero"])
    assert bad.exit_code == 2 and "--batch" in bad.output
    with pytest.raises(MismatchError, match="needs the PyTorch solver"):
        OnnxSolver(out).solve(puzzle, ttc="noise:k=2")
    with pytest.raises(MismatchError, match="outside this model's 0..0"):
        OnnxSolver(out).solve(puzzle, puzzle_identifier=3)
    # the checkpoint loader is the PyTorch solver's: export reads exactly what `trm solve` reads
    assert OnnxSolver(export_checkpoint(tmp_path / "run", tmp_path / "again.onnx")).info.source.endswith(
        "run"
    )


@pytest.mark.parametrize("kind", ["trm_mlpt", "trm_att", "hrm"])
def test_reference_checkpoints_reproduce_the_reference_code(kind, tmp_path):
    """Sudoku-size (81 + prefix) checkpoints of the reference code, exported through the same loader as
    ``trm solve``: the ONNX runtime reproduces the reference code's own outputs (``golden.npz``) with the
    tolerances its PyTorch conversion test uses (step 1: 1e-4; fp32 rounding grows with the recursion)."""
    folder = shared_data_dir() / "reference_checkpoints" / kind
    if not folder.is_dir():
        pytest.skip(f"{folder} is not available")
    golden = np.load(folder / "golden.npz")
    solver = OnnxSolver(export_checkpoint(folder, tmp_path / f"{kind}.onnx"))
    assert solver.info.n_sup == solver.config["model"]["halt_max_steps"]
    logits, halt = solver.step_outputs(golden["inputs"], 3, golden["puzzle_identifiers"])
    for s in range(3):
        ref = golden["logits"][s]
        assert np.abs(logits[s] - ref).max() < (1e-4 if s == 0 else 1e-3)
        assert (logits[s].argmax(-1) == ref.argmax(-1)).all()
        signal = golden["q_halt"][s] - (golden["q_continue"][s] if kind == "hrm" else 0)
        assert np.abs(halt[s] - signal).max() < 4e-4
