"""The ``trm llm eval`` / ``trm llm compare`` commands end to end: LLM alone, TRM alone, LLM + TRM tool."""

# ruff: noqa: F811 (the fixtures imported from test_solver are test arguments)

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from llm_stub import Reply, StubServer
from test_solver import puzzles, run_dir, solver  # noqa: F401 (fixtures: 6x6 Sudoku + tiny checkpoint)
from trm.cli import app
from trm.llm.compare import format_count, load_entry
from trm.llm.formats import grid_format
from trm.llm.tool import TOOL_NAME
from trm.models.cost import count_parameters

FMT = grid_format("sudoku", (6, 6))
runner = CliRunner()


def test_format_count():
    assert [format_count(n) for n in (None, 950, 6_828_034, 24_000_000_000)] == ["?", "950", "6.8M", "24.0B"]


def test_eval_then_compare(run_dir, solver, puzzles, tmp_path):
    """Half the puzzles answered right by the LLM alone; with the tool it copies the tool's answer."""
    right = {p.puzzle.tobytes(): (i < 3, p.solution) for i, p in enumerate(puzzles)}

    def respond(_api, body):
        last = body["messages"][-1]
        if last["role"] == "tool":
            return Reply(content=f"```\n{FMT.write(FMT.read(last['content']))}\n```")
        q = FMT.read(body["messages"][1]["content"])
        if body.get("tools"):
            return Reply(tool_calls=[(TOOL_NAME, {"puzzle": FMT.write(q)})])
        ok, solution = right[q.astype(puzzles[0].puzzle.dtype).tobytes()]
        return Reply(content=FMT.write(solution if ok else np.roll(solution, 1, axis=1)))

    trm_report, llm_report, tool_report = tmp_path / "trm.json", tmp_path / "llm.json", tmp_path / "tool.json"
    res = runner.invoke(
        app, ["eval", "-c", str(run_dir), "--out", str(trm_report), "--device", "cpu", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    data = str(run_dir / "data")
    with StubServer(respond) as stub:
        common = ["llm", "eval", "--data", data, "--model", "stub-llm", "--host", stub.url, "--no-progress"]
        res = runner.invoke(app, [*common, "--out", str(llm_report)])
        assert res.exit_code == 0, res.output
        assert "exact_accuracy" in res.output and "50.00%" in res.output
        res = runner.invoke(app, [*common, "--out", str(tool_report), "--with-tool", str(run_dir)])
        assert res.exit_code == 0, res.output
    llm = json.loads(llm_report.read_text())
    assert llm["metrics"]["exact_accuracy"] == pytest.approx(0.5)
    assert llm_report.with_suffix(".jsonl").exists()
    tool = json.loads(tool_report.read_text())
    assert tool["metrics"]["tool_call_rate"] == 1.0
    trm_metrics = json.loads(trm_report.read_text())["metrics"]
    trm_exact = trm_metrics["exact_accuracy"]
    # the LLM copied the tool, the tool is the same checkpoint as trm eval's: the same scores
    for key in ("exact_accuracy", "token_accuracy", "valid_solution"):
        assert tool["metrics"][key] == pytest.approx(trm_metrics[key]), key

    png, md = tmp_path / "chart.png", tmp_path / "table.md"
    res = runner.invoke(
        app,
        [
            "llm",
            "compare",
            str(llm_report),
            str(trm_report),
            str(tool_report),
            "--png",
            str(png),
            "--markdown",
            str(md),
        ],
    )
    assert res.exit_code == 0, res.output
    with Image.open(png) as im:
        assert im.size[0] > 300 and im.size[1] > 200
    rows = [line.split("|")[1:-1] for line in md.read_text().splitlines()[2:]]
    assert [r[1].strip() for r in rows] == ["LLM", "TRM", "LLM + TRM tool"]
    header = [c.strip() for c in md.read_text().splitlines()[0].split("|")[1:-1]]
    col = {name: k for k, name in enumerate(header)}
    assert {"exact_accuracy", "token_accuracy", "valid_solution", "s / puzzle", "parameters"} <= set(col)
    assert rows[0][col["exact_accuracy"]].strip() == "50.0%"
    assert rows[1][col["exact_accuracy"]].strip() == f"{100 * trm_exact:.1f}%"
    tiny = format_count(count_parameters(solver.model))
    assert rows[1][col["parameters"]].strip() == tiny
    assert rows[2][col["parameters"]].strip() == f"24.0B + {tiny}"
    assert load_entry(trm_report).seconds_per_puzzle > 0


def test_compare_rejects_what_is_no_report(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"metrics": [1, 2]')
    res = runner.invoke(app, ["llm", "compare", str(bad)])
    assert res.exit_code == 2 and "bad.json:1:" in res.output
    other = tmp_path / "other.json"
    other.write_text('{"metrics": {"exact_accuracy": 1.0}}')
    res = runner.invoke(app, ["llm", "compare", str(other)])
    assert res.exit_code == 2 and "neither a trm llm eval report" in res.output


def test_unreachable_server_stops_the_run(run_dir, tmp_path):
    with StubServer(lambda _a, _b: Reply()) as stub:
        url = stub.url  # a port that was open a moment ago and is now closed
    res = runner.invoke(
        app,
        ["llm", "eval", "--data", str(run_dir / "data"), "--model", "m", "--host", url, "--retries", "0",
         "--concurrency", "1", "--out", str(tmp_path / "r.json"), "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 2, res.output  # one line from the root command, like every user error
    assert "first 3 puzzles all failed" in res.output and "cannot reach" in res.output
    assert "rerun with --resume" in res.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert not report["complete"] and report["metrics"]["num_errors"] == 3


def test_prompt_command_shows_the_question(run_dir, puzzles):
    res = runner.invoke(
        app, ["llm", "prompt", "--data", str(run_dir / "data"), "--index", "2", "--with-tool"]
    )
    assert res.exit_code == 0, res.output
    assert res.output.startswith("[system]") and "[user]" in res.output and TOOL_NAME in res.output
    assert np.array_equal(FMT.read(res.output), puzzles[2].puzzle)
    res = runner.invoke(app, ["llm", "prompt", "--data", str(run_dir / "data"), "--index", "99"])
    assert res.exit_code == 2 and "no example 99" in res.output


def test_the_cli_and_the_library_do_not_import_the_http_clients():
    code = "import sys, trm, trm.cli; print(sorted(m for m in ('ollama', 'httpx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("command", ["eval", "compare", "prompt"])
def test_llm_commands_have_help(command):
    res = runner.invoke(app, ["llm", command, "--help"])
    assert res.exit_code == 0 and "Usage" in res.output
