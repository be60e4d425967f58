"""``trm mcp`` through the MCP SDK's client over stdio: list_models and solve_puzzle, answers and errors."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from serve_helpers import N_SUP, tiny_checkpoint
from trm.data.sudoku import format_grid, generate
from trm.inference.solver import Solver

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
    ]
    tools, results = asyncio.run(_session(runs, calls))
    assert {t.name for t in tools.tools} == {"list_models", "solve_puzzle"}
    schema = next(t for t in tools.tools if t.name == "solve_puzzle").input_schema
    assert schema["required"] == ["puzzle"]

    listed, solved, longer, bad, unnamed, too_many = results
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

    for result, words in ((bad, "bad puzzle"), (unnamed, "several models"), (too_many, "between 1 and 64")):
        assert result.is_error and words in result.content[0].text
