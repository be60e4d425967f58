"""A particle search's particles step by step (``ParticleTrace``): the ancestry the particle filter keeps,
lineage over a subset of steps, noise trajectories as particles never resampled, the capped JSON of
``trm serve``, and ``trm solve --trace --ttc smc:...``."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from serve_helpers import N_SUP, tiny_checkpoint
from trm.cli import app
from trm.data.sudoku import format_grid, generate
from trm.inference.solver import Solver
from trm.inference.ttc import TTCRunner, parse_spec
from trm.inference.ttc.particle_trace import ParticleTrace, summary_lines, trace_from_candidates
from trm.serve.particles_json import particles_json, shown_particles, shown_steps
from ttc_helpers import sudoku_tokens, tiny_model


@pytest.fixture(scope="module")
def model():
    return tiny_model(3)


def candidates(model, spec: str):
    runner = TTCRunner(
        model, parse_spec(spec), task="sudoku", grid_shape=(6, 6), vocab_size=8,
        device=torch.device("cpu"), dtype=torch.float32,
    )  # fmt: skip
    tokens = sudoku_tokens()
    return runner.run(tokens, np.zeros(len(tokens)), record_steps=True)


def test_the_ancestry_stays_in_each_group_and_spares_the_references(model):
    c = candidates(model, "steps:n=5+augment:k=2+smc:k=3,sigma=1,resample=q,stop=none")
    n, p, k = c.parent.shape
    assert (n, p, k) == (5, 4, 6)
    own = np.broadcast_to(np.arange(k), c.parent.shape)
    assert np.array_equal(c.parent[0], own[0])  # nothing is resampled before the first step
    assert np.array_equal(c.parent // 3, own // 3)  # a particle continues one of its own copy's group
    assert (
        np.array_equal(c.parent[..., ::3], own[..., ::3]) and (c.parent[..., 1:3] % 3 > 0).all()
    )  # references continue themselves
    assert (c.parent != own).any()  # resample=q with a q head that varies: some particles were replaced
    none = candidates(model, "steps:n=5+smc:k=4,sigma=1,resample=none")
    assert np.array_equal(none.parent, np.broadcast_to(np.arange(4), none.parent.shape))
    assert candidates(model, "noise:k=2,sigma=1").parent is None


def test_a_gated_search_keeps_its_particles_after_the_plain_pass_and_the_probe(model):
    c = candidates(model, "steps:n=4+smc:k=6,sigma=1,resample=q,stop=none,gate=agree,tau=1")
    assert np.array_equal(c.parent[..., :2], np.broadcast_to([0, 1], c.parent[..., :2].shape))
    searched = c.parent[:, c.searched, 2:]
    assert searched.size and (searched >= 2).all() and (searched < 6).all()
    assert np.array_equal(
        c.parent[:, ~c.searched], np.broadcast_to(np.arange(6), c.parent[:, ~c.searched].shape)
    )


def test_noise_trajectories_are_particles_that_are_never_resampled(model):
    c = candidates(model, "steps:n=4+augment:k=2+noise:k=3,sigma=1")
    ran = np.ones(6, dtype=bool)
    t = trace_from_candidates(c, 1, ran, chosen=4)
    assert (t.count, t.steps, t.chosen, t.resampled) == (6, 4, 4, False)
    assert np.array_equal(t.tokens, c.every[:, 1]) and np.array_equal(t.q, c.every_q[:, 1])
    assert np.array_equal(t.parent, np.broadcast_to(np.arange(6), (4, 6)))  # each continues itself
    assert t.group.tolist() == [-1, 0, 0, -1, 1, 1]  # trajectory 0 of each copy: noise-free, the reference
    assert np.isnan(t.weights()).all()  # nothing resampled by them: no weights
    assert not t.dropped(np.arange(4)).any() and np.array_equal(t.ancestors([0, 3])[1], np.arange(6))
    lines = summary_lines(t)
    assert lines[0].startswith("particles: 6 noise trajectories, never resampled (chosen: 4; 2 noise-free)")
    assert len(lines) == 2 + 4 and not any("resampled away" in line for line in lines)
    with pytest.raises(ValueError, match="smc"):  # one trajectory per copy: no particles to trace
        trace_from_candidates(candidates(model, "augment:k=2"), 0, np.ones(2, dtype=bool), chosen=0)


def synthetic_trace() -> ParticleTrace:
    """4 particles, 3 steps; before step 2 particle 1 takes 2's state, before step 3 particle 2 takes 3's."""
    tokens = np.zeros((3, 4, 4), dtype=np.int64)
    tokens[:, 1:, 0] = 1  # particles 1..3 differ from the answer (particle 0's) in one cell
    tokens[2, 3] = 0  # at the last step particle 3 agrees
    return ParticleTrace(
        tokens=tokens,
        q=np.array([[0.0, 1.0, -1.0, 0.0]] * 3),
        parent=np.array([[0, 1, 2, 3], [0, 2, 2, 3], [0, 1, 3, 3]]),
        taken=np.array([3, 3, 3, 2]),
        group=np.array([-1, 0, 0, 0]),
        chosen=0,
    )


def test_lineage_composes_over_the_steps_not_shown():
    t = synthetic_trace()
    assert t.ancestors([0, 1, 2]).tolist() == [[0, 1, 2, 3], [0, 2, 2, 3], [0, 1, 3, 3]]
    assert t.ancestors([0, 2]).tolist() == [[0, 1, 2, 3], [0, 2, 3, 3]]
    assert t.dropped([0, 1, 2]).tolist() == [
        [False, True, False, False],
        [False, False, True, False],
        [False] * 4,
    ]
    assert t.dropped([0, 2]).tolist() == [[False, True, False, False], [False] * 4]
    w = t.weights()
    assert np.isnan(w[:, 0]).all() and np.allclose(w[:, 1:].sum(axis=1), 1) and w[0, 1] > w[0, 3] > w[0, 2]
    assert t.agrees().tolist() == [[True, False, False, False]] * 2 + [[True, False, False, True]]
    assert t.running()[:, 3].tolist() == [True, True, False]


def test_the_json_is_capped_and_sends_only_cells_or_a_grid_of_another_shape():
    assert shown_steps(5, 16).tolist() == [0, 1, 2, 3, 4]
    steps = shown_steps(64, 16)
    assert len(steps) == 16 and steps[0] == 0 and steps[-1] == 63 and (np.diff(steps) > 0).all()
    assert shown_particles(12, 10, 8).tolist() == [0, 1, 2, 3, 4, 5, 6, 10]
    t = synthetic_trace()

    def decode(row: np.ndarray) -> np.ndarray:  # like an ARC model: a particle may draw another shape
        return row.reshape(2, 2) if row[0] == 0 else row[:3].reshape(1, 3)

    out = particles_json(t, decode, np.zeros((2, 2), dtype=np.int64), max_particles=3, max_steps=2)
    assert (out["count"], out["shown"], out["reference"], out["steps_total"]) == (
        4,
        [0, 1, 2],
        [True, False, False],
        3,
    )
    first, last = out["steps"]
    assert (first["index"], last["index"]) == (1, 3)
    zero, one, _ = last["particles"]
    assert zero["agrees"] and zero["cells"] == [] and zero["weight"] is None
    assert one["cells"] is None and one["grid"] == [[1, 0, 0]] and not one["agrees"]
    assert [p["dropped"] for p in first["particles"]] == [False, True, False]  # composed over step 2
    assert [p["from"] for p in last["particles"]] == [0, 2, 3] and first["particles"][0]["from"] is None


def test_solve_trace_prints_the_particles_per_step(tmp_path):
    run = tiny_checkpoint(tmp_path, "sudoku")
    puzzle = format_grid(generate(6, count=1, seed=2)[0].puzzle)
    spec = "smc:k=4,sigma=1,resample=q"
    r = CliRunner().invoke(
        app, ["solve", puzzle, "-c", str(run), "--device", "cpu", "--ttc", spec, "--trace"]
    )
    assert r.exit_code == 0, r.output
    trace = Solver.load(run, device="cpu").solve(puzzle, ttc=spec).particles
    assert f"particles: 4 (chosen: {trace.chosen};" in r.output
    lines = re.findall(
        r"step +(\d+): (\d+)/4 agree, (\d+) running, (\d+) resampled away; p_halt (.*)", r.output
    )
    assert [int(s) for s, *_ in lines] == list(range(1, N_SUP + 1))
    assert [int(a) for _, a, *_ in lines] == trace.agrees().sum(axis=1).tolist()
    assert int(lines[-1][1]) >= 1  # the chosen particle gives the final answer
    assert all(len(ps.split()) == 4 and ps.count("*") == 1 for *_, ps in lines)
    assert summary_lines(trace)[2:] == [line for line in r.output.splitlines() if line.startswith("  step ")]
    plain = CliRunner().invoke(app, ["solve", puzzle, "-c", str(run), "--device", "cpu", "--ttc", spec])
    assert plain.exit_code == 0 and "particles:" not in plain.output
