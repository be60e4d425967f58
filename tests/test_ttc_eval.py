"""trm eval --ttc and trm solve --ttc, and Solver.solve(ttc=...), on a tiny random TRM and 6x6 Sudoku."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from trm.checkpoints.run_dir import save_checkpoint
from trm.cli import app, main
from trm.config import load_recipe
from trm.data.format import DatasetMetadata, open_split, write_split
from trm.data.sudoku import format_grid, generate, is_valid_solution, to_tokens
from trm.evaluation.evaluate import evaluate
from trm.evaluation.ttc import evaluate_ttc
from trm.inference.solver import Solver
from trm.models import build_model

N_SUP = 3


@pytest.fixture(scope="module")
def puzzles():
    return generate(6, count=8, seed=3)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, puzzles):
    root = tmp_path_factory.mktemp("ttc")
    data = root / "data"
    inputs = np.stack([to_tokens(p.puzzle).reshape(-1) for p in puzzles])
    labels = np.stack([to_tokens(p.solution).reshape(-1) for p in puzzles])
    e = len(puzzles)
    meta = DatasetMetadata(
        task="sudoku", vocab_size=8, seq_len=36, grid_shape=(6, 6), num_puzzle_identifiers=1
    )
    for split in ("train", "test"):
        write_split(
            data, split, inputs=inputs, labels=labels, puzzle_identifiers=np.zeros(e, np.int32),
            puzzle_indices=np.arange(e + 1), group_indices=np.arange(e + 1), metadata=meta,
        )  # fmt: skip
    config = load_recipe("quickstart", overrides=[
        f"out_dir={root}", f"data.path={data}", "model.hidden_size=16", "model.num_heads=2",
        f"model.halt_max_steps={N_SUP}", "model.width_multiple=16", "model.H_cycles=1", "model.L_cycles=1",
        "model.puzzle_emb_len=2", "train.dtype=float32",
    ])  # fmt: skip
    torch.manual_seed(0)
    model = build_model(config, meta)
    with torch.no_grad():
        model.q_head.weight.normal_(0, 1.0)
        model.q_head.bias.zero_()
    save_checkpoint(root, step=1, epoch=0.0, model=model, config=config, metadata=meta)
    return root


def test_evaluation_scores_every_selection_against_the_plain_pass(run_dir):
    solver = Solver.load(run_dir, device="cpu")
    split = open_split(run_dir / "data", "test")
    plain = evaluate(solver.model, split, batch_size=4, device="cpu", dtype=torch.float32)
    res = evaluate_ttc(
        solver.model, split, "noise:k=4,sigma=0.3", batch_size=3, device="cpu", dtype=torch.float32
    )
    m = res.metrics
    assert m["exact_accuracy_candidate0"] == plain.metrics["exact_accuracy"]
    assert m["calls_per_puzzle"] == 4 * N_SUP * 2 and m["calls_ratio"] == 4.0  # T(n+1) = 1 * 2
    for how in ("q", "vote", "verify"):
        assert 0.0 <= m[f"exact_accuracy_{how}"] <= m["exact_accuracy_any"]
    assert m["exact_accuracy"] == m["exact_accuracy_q"] and "valid_solution" in m
    assert m["num_examples"] == 8 and m["candidates"] == 4 and m["puzzles_per_second"] > 0


def test_early_halt_is_the_specs_early_exit_and_combines_with_it(run_dir):
    """``trm eval --early-halt --ttc SPEC`` is SPEC with exit=q: one mechanism (the engine's early exit)."""
    solver = Solver.load(run_dir, device="cpu")
    split = open_split(run_dir / "data", "test")
    kw = dict(batch_size=3, device="cpu", dtype=torch.float32)
    flag = evaluate_ttc(solver.model, split, "noise:k=2,sigma=0.3", early_halt=True, **kw).metrics
    spec = evaluate_ttc(solver.model, split, "steps:exit=q+noise:k=2,sigma=0.3", **kw).metrics
    full = evaluate_ttc(solver.model, split, "noise:k=2,sigma=0.3", **kw).metrics
    timing = ("seconds", "puzzles_per_second")
    assert {k: v for k, v in flag.items() if k not in timing} == {
        k: v for k, v in spec.items() if k not in timing
    }
    assert flag["calls_per_puzzle"] <= full["calls_per_puzzle"]
    plain = evaluate(solver.model, split, early_halt=True, **kw).metrics  # the same exit without a spec
    assert flag["exact_accuracy_candidate0"] == plain["exact_accuracy"]


def test_verify_is_right_whenever_a_candidate_is_valid(puzzles):
    """A model that answers with the label on some candidates only: verify finds it, q need not."""
    from trm.data.tasks import get_task
    from trm.evaluation.ttc import _exact
    from trm.inference.ttc import rule_verdicts

    task = get_task("sudoku")
    questions = np.stack([to_tokens(p.puzzle).reshape(-1) for p in puzzles[:2]])
    solutions = np.stack([to_tokens(p.solution).reshape(-1) for p in puzzles[:2]])
    answers = np.repeat(questions[:, None], 3, 1).copy()  # the question itself: blanks, not valid
    answers[0, 2] = solutions[0]
    passes = rule_verdicts(task, questions, answers, (6, 6))
    assert passes.tolist() == [[False, False, True], [False, False, False]]
    assert _exact(answers[0, 2], solutions[0]) and not _exact(answers[1, 0], solutions[1])


def test_solver_returns_the_chosen_answer_and_every_candidate(run_dir, puzzles):
    solver = Solver.load(run_dir, device="cpu")
    sol = solver.solve(puzzles[0].puzzle, ttc="augment:k=3+noise:k=2,sigma=0.3,select=vote")
    assert len(sol.candidates) == 6 and sol.calls == 6 * N_SUP * 2
    pick = sol.candidates[sol.chosen]
    assert np.array_equal(sol.answer, pick.answer) and sol.valid == pick.valid
    assert [(c.copy, c.trajectory) for c in sol.candidates] == [(a, j) for a in range(3) for j in range(2)]
    for c in sol.candidates:
        assert c.valid == is_valid_solution(puzzles[0].puzzle, c.answer)
    votes = sum(np.array_equal(c.answer, pick.answer) for c in sol.candidates)
    assert all(
        votes >= sum(np.array_equal(c.answer, other.answer) for c in sol.candidates)
        for other in sol.candidates
    )
    plain = solver.solve(puzzles[0].puzzle)
    first = solver.solve(puzzles[0].puzzle, ttc="noise:k=2,sigma=0.3,at=last")
    assert np.array_equal(first.candidates[0].answer, plain.answer)  # candidate 0 is the plain pass


def test_cli_eval_and_solve_with_ttc(run_dir, puzzles, tmp_path, capsys):
    runner = CliRunner()
    out = tmp_path / "report.json"
    r = runner.invoke(app, ["eval", "-c", str(run_dir), "--ttc", "noise:k=2,sigma=0.2", "--device", "cpu",
                            "--out", str(out), "--no-progress"])  # fmt: skip
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text())
    assert report["ttc"] == "noise:k=2,sigma=0.2"
    for key in (
        "exact_accuracy",
        "calls_per_puzzle",
        "puzzles_per_second",
        "valid_solution",
        "exact_accuracy_vote",
    ):
        assert key in report["metrics"]
    r = runner.invoke(app, ["solve", format_grid(puzzles[1].puzzle), "-c", str(run_dir), "--device", "cpu",
                            "--ttc", "augment:k=4,select=vote"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "4 candidates" in r.output and "select=vote" in r.output and "network calls" in r.output
    with pytest.raises(SystemExit) as exit_:
        main(["solve", format_grid(puzzles[1].puzzle), "-c", str(run_dir), "--ttc", "noise:k=x"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "character 7" in err and "not an integer" in err


def test_cli_eval_diagnoses_a_particle_search_and_solve_runs_it(run_dir, puzzles, tmp_path):
    runner = CliRunner()
    out = tmp_path / "smc.json"
    spec = "smc:k=4,sigma=0.5,gate=q,tau=1"  # tau=1: every puzzle is searched
    r = runner.invoke(app, ["eval", "-c", str(run_dir), "--ttc", spec, "--diagnose", "--device", "cpu",
                            "--out", str(out), "--no-progress"])  # fmt: skip
    assert r.exit_code == 0, r.output
    m = json.loads(out.read_text())["metrics"]
    assert m["searched_fraction"] == 1.0 and m["diag_puzzles"] == len(puzzles)
    assert 0 <= m["diag_stability"] <= 1 and 0 <= m["diag_entropy_normalized"] <= 1
    assert 0 <= m["exact_accuracy_wvote"] <= 1 and m["calls_per_puzzle"] > N_SUP * 2  # plain + search
    r = runner.invoke(app, ["eval", "-c", str(run_dir), "--diagnose", "--device", "cpu", "--no-progress"])
    assert r.exit_code == 2 and "--ttc" in r.output
    r = runner.invoke(app, ["solve", format_grid(puzzles[1].puzzle), "-c", str(run_dir), "--device", "cpu",
                            "--ttc", "smc:k=4,sigma=0.5"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "4 candidates" in r.output and "select=q" in r.output


@pytest.mark.parametrize(
    "spec, searched",
    [("smc:k=4,sigma=0.5,gate=q,tau=0", False), ("smc:k=4,sigma=0.5,gate=q,tau=1", True)],
)
def test_a_gate_counts_only_the_trajectories_that_ran(run_dir, puzzles, spec, searched):
    solver = Solver.load(run_dir, device="cpu")
    sol = solver.solve(puzzles[1].puzzle, ttc=spec)
    ran = 4 if searched else 1  # tau=0: no puzzle is unsure, only the plain pass runs; tau=1: all are
    assert sol.searched is searched and len(sol.candidates) == ran
    assert len({c.index for c in sol.candidates}) == ran and sol.candidates[0].index == 0
    if not searched:
        assert sol.calls == N_SUP * 2  # the plain pass alone (2 network calls per step)
    pick = sol.candidates[sol.chosen]
    assert np.array_equal(sol.answer, pick.answer) and len(sol.trace) >= 1
    r = CliRunner().invoke(app, ["solve", format_grid(puzzles[1].puzzle), "-c", str(run_dir),
                                 "--device", "cpu", "--ttc", spec])  # fmt: skip
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert f"{ran} of 4 candidates ran" in text and ("kept the plain answer" in text) is not searched
    assert f"given by {sum(np.array_equal(c.answer, pick.answer) for c in sol.candidates)} of {ran}" in text


def test_an_agreement_gate_counts_the_plain_pass_and_the_probe(run_dir, puzzles):
    solver = Solver.load(run_dir, device="cpu")
    sol = solver.solve(puzzles[2].puzzle, ttc="smc:k=6,sigma=0.5,gate=agree")
    probe_agrees = np.array_equal(sol.candidates[0].answer, sol.candidates[1].answer)
    assert sol.searched is not probe_agrees
    assert len(sol.candidates) == (6 if sol.searched else 2)
    assert [c.index for c in sol.candidates[:2]] == [0, 1]
