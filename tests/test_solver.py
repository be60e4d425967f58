"""Solver and the eval/solve/plot commands, on a tiny (untrained) TRM and generated 6x6 Sudoku."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from trm.checkpoints.run_dir import save_checkpoint
from trm.cli import app
from trm.config import load_recipe
from trm.data.errors import InputError
from trm.data.format import DatasetMetadata, write_split
from trm.data.sudoku import format_grid, generate, is_valid_solution, to_tokens
from trm.inference.solver import Solver
from trm.models import build_model

N_SUP = 3


@pytest.fixture(scope="module")
def puzzles():
    return generate(6, count=6, seed=11)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, puzzles):
    """A dataset of the puzzles and a checkpoint of a tiny random TRM trained on nothing."""
    root = tmp_path_factory.mktemp("run")
    data = root / "data"
    inputs = np.stack([to_tokens(p.puzzle) for p in puzzles])
    labels = np.stack([to_tokens(p.solution) for p in puzzles])
    e = len(puzzles)
    meta = DatasetMetadata(
        task="sudoku", vocab_size=8, seq_len=36, grid_shape=(6, 6), num_puzzle_identifiers=1
    )
    for split in ("train", "test"):
        write_split(
            data,
            split,
            inputs=inputs,
            labels=labels,
            puzzle_identifiers=np.zeros(e, np.int32),
            puzzle_indices=np.arange(e + 1),
            group_indices=np.arange(e + 1),
            metadata=meta,
        )
    config = load_recipe("quickstart", overrides=[
        f"out_dir={root}", f"data.path={data}", "model.hidden_size=16", "model.num_heads=2",
        f"model.halt_max_steps={N_SUP}", "model.width_multiple=16", "model.H_cycles=1", "model.L_cycles=1",
        "model.puzzle_emb_len=2",
    ])  # fmt: skip
    torch.manual_seed(0)
    model = build_model(config, meta)
    save_checkpoint(root, step=1, epoch=0.0, model=model, config=config, metadata=meta)
    return root


@pytest.fixture(scope="module")
def solver(run_dir):
    return Solver.load(run_dir, device="cpu")


def test_trace_marks_exactly_the_changed_cells(solver, puzzles):
    sol = solver.solve(puzzles[0].puzzle, steps=5)  # more steps than the model's N_sup
    assert len(sol.trace) == 5 and [s.index for s in sol.trace] == [1, 2, 3, 4, 5]
    prev = puzzles[0].puzzle
    for step in sol.trace:
        assert step.grid.shape == (6, 6) and step.changed.dtype == bool
        assert np.array_equal(step.changed, step.grid != prev)
        assert step.valid == is_valid_solution(puzzles[0].puzzle, step.grid)
        prev = step.grid
    assert np.array_equal(sol.answer, sol.trace[-1].grid) and sol.valid == sol.trace[-1].valid
    fired = [s.index for s in sol.trace if s.q_halt > 0]
    assert sol.halted_at == (fired[0] if fired else None)
    assert sol.task == "sudoku" and np.array_equal(sol.question, puzzles[0].puzzle)


def test_text_file_and_array_give_the_same_answer(solver, puzzles, tmp_path):
    p = puzzles[1].puzzle
    f = tmp_path / "puzzle.txt"
    f.write_text(format_grid(p, pretty=True) + "\n")
    answers = [solver.solve(x).answer for x in (format_grid(p), str(f), f, p)]
    for a in answers[1:]:
        assert np.array_equal(a, answers[0])
    assert len(solver.solve(p).trace) == N_SUP  # default: the model's N_sup


def test_solve_many_equals_one_at_a_time(solver, puzzles):
    many = solver.solve_many([p.puzzle for p in puzzles], batch_size=4)
    assert len(many) == len(puzzles)
    for p, sol in zip(puzzles, many, strict=True):
        single = solver.solve(p.puzzle)
        assert np.array_equal(sol.answer, single.answer)
        assert [s.q_halt for s in sol.trace] == pytest.approx([s.q_halt for s in single.trace], abs=1e-4)


def test_bad_puzzle_is_an_input_error(solver):
    with pytest.raises(InputError):
        solver.solve("1234" * 5)


runner = CliRunner()


@pytest.mark.parametrize("command", ["eval", "solve", "plot"])
def test_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert {"eval": "--early-halt", "solve": "--trace", "plot": "--out"}[command] in result.output


def test_eval_command_writes_the_report(run_dir, tmp_path):
    out = tmp_path / "report.json"
    result = runner.invoke(
        app,
        [
            "eval",
            "--checkpoint",
            str(run_dir),
            "--out",
            str(out),
            "--device",
            "cpu",
            "--no-progress",
            "--batch-size",
            "4",
            "--steps",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    m = report["metrics"]
    assert m["num_examples"] == 6 and m["halt_max_steps"] == 2
    assert {
        "exact_accuracy_step_1",
        "exact_accuracy_step_2",
        "valid_solution",
        "early_halt_exact_accuracy",
    } <= set(m)
    assert report["checkpoint"].endswith("step_00000001")
    assert "exact_accuracy" in result.output
    fast = runner.invoke(
        app, ["eval", "-c", str(run_dir), "--device", "cpu", "--no-progress", "--early-halt", "--limit", "3"]
    )
    assert fast.exit_code == 0, fast.output
    assert "mean_steps" in fast.output


def test_solve_command_traces_and_draws(run_dir, puzzles, tmp_path):
    png, strip, gif = tmp_path / "a.png", tmp_path / "s.png", tmp_path / "s.gif"
    result = runner.invoke(
        app,
        [
            "solve",
            "--checkpoint",
            str(run_dir),
            format_grid(puzzles[2].puzzle),
            "--trace",
            "--steps",
            "4",
            "--png",
            str(png),
            "--strip",
            str(strip),
            "--gif",
            str(gif),
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    for k in range(1, 5):
        assert f"step {k}" in result.output
    assert "answer" in result.output and "valid" in result.output
    with Image.open(gif) as im:
        assert im.n_frames == 4
    for p in (png, strip):
        with Image.open(p) as im:
            assert im.format == "PNG"
    bad = runner.invoke(app, ["solve", "-c", str(run_dir), "12x4", "--device", "cpu"])
    assert bad.exit_code == 2 and bad.output == "error: 1:5: expected 36 cells for a 6x6 Sudoku, found 4\n"


def test_plot_command(tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_text(json.dumps({"step": 1, "epoch": 0.1, "kind": "train", "loss": 1.0, "lr": 1e-4}) + "\n")
    result = runner.invoke(app, ["plot", str(tmp_path), "--out", str(tmp_path / "c.png")])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "c.png") as im:
        assert im.format == "PNG"


def test_evaluator_and_solver_agree(run_dir, solver, puzzles):
    from trm.data.format import open_split
    from trm.evaluation.evaluate import evaluate

    split = open_split(run_dir / "data", "test")
    res = evaluate(
        solver.model, split, batch_size=4, device="cpu", dtype=solver.dtype, return_predictions=True
    )
    sols = solver.solve_many([p.puzzle for p in puzzles])
    for row, sol in zip(res.predictions, sols, strict=True):
        assert np.array_equal(solver.task.decode(row, (6, 6)), sol.answer)
    assert res.metrics["valid_solution"] == np.mean([s.valid for s in sols])
    assert res.metrics["halt_accuracy"] == np.mean([(s.trace[-1].q_halt > 0) == s.valid for s in sols])
