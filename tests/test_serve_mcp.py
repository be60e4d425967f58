"""``trm mcp`` through the MCP SDK's client over stdio: list_models and solve_puzzle, answers and errors;
solve_puzzle's test-time compute (``ttc``) checked as the HTTP API checks it."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from serve_helpers import N_SUP, tiny_checkpoint
from trm.data.sudoku import format_grid, generate
from trm.inference.solver import Solver
from trm.serve.mcp_server import solve_text
from trm.serve.registry import ServeError, load_models
from trm.serve.request_io import Limits

mcp = pytest.importorskip("mcp")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("mcp")
    return [tiny_checkpoint(root, "sudoku"), tiny_checkpoint(root, "maze")]


def payload(result) -> object:
    """A tool result's value: the structured content when the server sent it, else its JSON text."""
    if result.structured_content is not None:
        value = result.structured_content
        return value.get("result", value) if set(value) == {"result"} else value
    return json.loads(result.content[0].text)


async def _session(runs, calls):
    from mcp import Client, StdioServerParameters

    args = ["-m", "trm", "mcp", "--device", "cpu"]
    for run in runs:
        args += ["--checkpoint", str(run)]
    env = {"OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    params = StdioServerParameters(command=sys.executable, args=args, env=env)
    async with Client(params, read_timeout_seconds=120) as client:
        tools = await client.list_tools()
        results = [await client.call_tool(name, arguments) for name, arguments in calls]
        return tools, results


def test_list_models_and_solve_over_stdio(runs):
    puzzle = generate(6, count=1, seed=9)[0].puzzle
    text = format_grid(puzzle)
    calls = [
        ("list_models", {}),
        ("solve_puzzle", {"puzzle": text, "model": "sudoku"}),
        ("solve_puzzle", {"puzzle": text, "model": "sudoku", "steps": 5}),
        ("solve_puzzle", {"puzzle": "12x4", "model": "sudoku"}),
        ("solve_puzzle", {"puzzle": text}),  # two models served: the name is needed
        ("solve_puzzle", {"puzzle": text, "model": "sudoku", "steps": 1000}),
        ("solve_puzzle", {"puzzle": text, "model": "sudoku", "ttc": "smc:k=3,sigma=1"}),
        ("solve_puzzle", {"puzzle": text, "model": "sudoku", "ttc": "noise:k=2,sigma=zero"}),
    ]
    tools, results = asyncio.run(_session(runs, calls))
    assert {t.name for t in tools.tools} == {"list_models", "solve_puzzle"}
    schema = next(t for t in tools.tools if t.name == "solve_puzzle").input_schema
    assert schema["required"] == ["puzzle"] and "ttc" in schema["properties"]

    listed, solved, longer, bad, unnamed, too_many, searched, bad_ttc = results
    models = payload(listed)
    assert [m["name"] for m in models] == ["sudoku", "maze"]
    assert models[0]["task"] == "sudoku" and models[0]["grid_shape"] == [6, 6] and models[0]["n_sup"] == N_SUP

    solver = Solver.load(runs[0], device="cpu")
    expected = solver.solve(puzzle)
    answer = payload(solved)
    assert not solved.is_error
    assert answer["answer_grid"] == expected.answer.tolist() and answer["valid"] == expected.valid
    assert answer["steps_used"] == N_SUP and answer["halt_step"] == expected.halted_at
    assert answer["answer"] == solver.task.render_text(expected.answer)  # text in the task's own layout
    assert payload(longer)["steps_used"] == 5

    assert "ttc" not in answer  # without a spec the answer is as before
    ttc = payload(searched)["ttc"]
    direct = solver.solve(puzzle, ttc="smc:k=3,sigma=1")
    assert (ttc["candidates"], ttc["chosen"], ttc["calls"]) == (3, direct.chosen, direct.calls)
    assert ttc["particles"]["count"] == 3 and len(ttc["particles"]["steps"]) == N_SUP

    for result, words in (
        (bad, "bad puzzle"),
        (unnamed, "several models"),
        (too_many, "between 1 and 64"),
        (bad_ttc, "character 11: sigma='zero' is not a number"),
    ):
        assert result.is_error and words in result.content[0].text


@pytest.fixture(scope="module")
def served(runs):
    return load_models([str(runs[0])], "cpu")


def test_ttc_reports_candidates_calls_and_a_particle_summary(served):
    """The tool's ``ttc``: the same search as ``Solver.solve(ttc=...)``; for smc per step how many particles
    agree with the answer, run and were resampled away; for noise the same without resampling."""
    puzzle = generate(6, count=1, seed=9)[0].puzzle
    text, solver = format_grid(puzzle), served["sudoku"].solver
    spec = "steps:n=5+smc:k=4,sigma=1,resample=q,stop=none"
    out = solve_text(served, text, None, None, Limits(), spec)
    direct = solver.solve(puzzle, ttc=spec)
    assert out["answer_grid"] == direct.answer.tolist() and out["steps_used"] == len(direct.trace)
    ttc = out["ttc"]
    assert ttc["spec"] == spec and ttc["searched"] is True
    assert (ttc["candidates"], ttc["chosen"], ttc["calls"]) == (4, direct.chosen, direct.calls)
    pt = ttc["particles"]
    assert (pt["count"], pt["chosen"], pt["resampled"], pt["references"], pt["steps_total"]) == (
        4, direct.particles.chosen, True, 1, 5,
    )  # fmt: skip
    agree = direct.particles.agrees().sum(axis=1)
    assert [s["step"] for s in pt["steps"]] == [1, 2, 3, 4, 5]
    assert [s["agree"] for s in pt["steps"]] == agree.tolist() and pt["steps"][-1]["agree"] >= 1
    for s in pt["steps"]:
        assert 0 <= s["resampled_away"] < 4 and s["running"] == 4
        p = s["p_halt"]
        assert 0 <= p["min"] <= p["median"] <= p["max"] <= 1 and p["min"] <= p["chosen"] <= p["max"]

    capped = solve_text(served, text, None, None, Limits(max_particle_steps_shown=2), spec)
    assert [s["step"] for s in capped["ttc"]["particles"]["steps"]] == [1, 5]  # first and last kept

    noise = solve_text(served, text, None, None, Limits(), "noise:k=3,sigma=0.5")["ttc"]["particles"]
    assert (noise["count"], noise["resampled"], noise["references"]) == (3, False, 1)
    assert all("resampled_away" not in s for s in noise["steps"])
    kept = solve_text(served, text, None, None, Limits(), "smc:k=4,gate=q,tau=0")["ttc"]
    assert (kept["searched"], kept["candidates"]) == (False, 1)  # the gate kept the plain answer
    longer = solve_text(served, text, None, None, Limits(), "steps:n=5")
    assert longer["steps_used"] == 5 and "particles" not in longer["ttc"]


@pytest.mark.parametrize(
    "spec,words",
    [
        ("noise:k=0", "bad ttc: --ttc 'noise:k=0', character 7: k must be >= 1, got 0"),
        ("beam:k=2", "character 1: unknown strategy 'beam'"),
        ("noise:k=100", "ttc asks for 100 candidates, the limit is 64"),
        ("augment:k=8+noise:k=9", "ttc asks for 72 candidates, the limit is 64"),
        ("steps:n=99", "steps must be between 1 and 64, got 99"),
    ],
)
def test_a_bad_ttc_is_refused_as_the_http_api_refuses_it(served, spec, words):
    text = format_grid(generate(6, count=1, seed=9)[0].puzzle)
    with pytest.raises(ServeError) as e:
        solve_text(served, text, None, None, Limits(), spec)
    assert e.value.status == 422 and words in e.value.message
    with pytest.raises(ServeError, match="limit is 8"):  # the limits given, not the defaults
        solve_text(served, text, None, None, Limits(max_ttc_candidates=8), "noise:k=9")
