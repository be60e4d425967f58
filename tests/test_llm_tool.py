"""The LLM + tiny-model tool loop (``--with-tool``) against the stub server, on a tiny untrained TRM."""

# ruff: noqa: F811 (the fixtures imported from test_solver are test arguments)

from __future__ import annotations

import numpy as np
import pytest

from llm_stub import Reply, StubServer
from test_solver import puzzles, run_dir, solver  # noqa: F401 (fixtures: 6x6 Sudoku + tiny checkpoint)
from trm.llm.formats import grid_format
from trm.llm.run import EvalSettings, evaluate_llm
from trm.llm.tool import TOOL_NAME, SolvePuzzleTool
from trm.models.cost import count_parameters

FMT = grid_format("sudoku", (6, 6))


def _question(body: dict) -> np.ndarray:
    return FMT.read(next(m["content"] for m in body["messages"] if m["role"] == "user"))


@pytest.mark.parametrize("api", ["ollama", "openai"])
def test_tool_calls_are_run_by_the_solver_and_reported(run_dir, solver, puzzles, tmp_path, api):
    """Puzzle 0: answers alone. 1: calls the tool with a bad argument. The rest: call it with the
    question, then answer with the tool's grid."""
    index = {p.puzzle.tobytes(): i for i, p in enumerate(puzzles)}

    def respond(_api, body):
        assert body["tools"][0]["function"]["name"] == TOOL_NAME
        i = index[_question(body).astype(puzzles[0].puzzle.dtype).tobytes()]
        last = body["messages"][-1]
        if last["role"] == "tool":
            if api == "openai":
                assert last["tool_call_id"] == "call_0"
            else:
                assert last["tool_name"] == TOOL_NAME
            assert body["messages"][-2]["role"] == "assistant" and body["messages"][-2]["tool_calls"]
            tool_grid = FMT.read(last["content"])
            return Reply(content="I give up." if tool_grid is None else f"```\n{FMT.write(tool_grid)}\n```")
        if i == 0:
            return Reply(content=FMT.write(puzzles[0].solution))
        if i == 1:
            return Reply(tool_calls=[(TOOL_NAME, {"grid": "123"})])
        return Reply(
            content="Let me ask the tool.", tool_calls=[(TOOL_NAME, {"puzzle": FMT.write(puzzles[i].puzzle)})]
        )

    with StubServer(respond) as stub:
        url = stub.url if api == "ollama" else stub.url + "/v1"
        settings = EvalSettings(
            data=str(run_dir / "data"), model="stub", out=str(tmp_path / "r.json"), host=url, api=api
        )
        report = evaluate_llm(settings, tool=SolvePuzzleTool(solver, FMT))
    recs = report["records"]
    assert recs[0]["tool_calls"] == [] and recs[0]["exact"]
    bad = recs[1]["tool_calls"]
    assert len(bad) == 1 and not bad[0]["ok"] and "needs the argument 'puzzle'" in bad[0]["error"]
    assert not recs[1]["parsed"]
    expected_exact = [True, False]
    for i in range(2, len(puzzles)):
        answer = solver.solve(puzzles[i].puzzle).answer
        (call,) = recs[i]["tool_calls"]
        assert call["ok"] and call["input_matches"] and call["answer"] == FMT.write(answer)
        assert recs[i]["answer"] == FMT.write(answer) and recs[i]["rounds"] == 2
        assert recs[i]["prompt_tokens"] == 22  # both rounds counted
        expected_exact.append(bool(np.array_equal(answer, puzzles[i].solution)))
    assert [r["exact"] for r in recs] == expected_exact
    m = report["metrics"]
    n = len(puzzles)
    assert m["tool_call_rate"] == pytest.approx((n - 1) / n) and m["mean_tool_calls"] == pytest.approx(
        (n - 1) / n
    )
    assert m["tool_input_match_rate"] == pytest.approx((n - 2) / (n - 1))
    assert m["answer_is_tool_answer"] == pytest.approx((n - 2) / (n - 1))
    assert m["exact_accuracy_tool_not_called"] == 1.0
    assert m["exact_accuracy_tool_called"] == pytest.approx(np.mean(expected_exact[1:]))
    assert report["tool_parameters"] == count_parameters(solver.model)
    assert report["with_tool"] is None  # a tool object was passed in, no checkpoint path


def test_tool_rounds_are_bounded(run_dir, solver, puzzles, tmp_path):
    """A model that calls the tool forever is cut off after max_tool_rounds; its last reply is its answer."""

    def respond(_api, body):
        return Reply(content="", tool_calls=[(TOOL_NAME, {"puzzle": FMT.write(_question(body))})])

    with StubServer(respond) as stub:
        settings = EvalSettings(
            data=str(run_dir / "data"),
            model="stub",
            out=str(tmp_path / "r.json"),
            host=stub.url,
            max_tool_rounds=2,
            limit=2,
        )
        report = evaluate_llm(settings, tool=SolvePuzzleTool(solver, FMT))
        assert len(stub.requests) == 2 * 3
    for r in report["records"]:
        assert r["rounds"] == 3 and len(r["tool_calls"]) == 2 and not r["parsed"] and not r["exact"]


def test_tool_refuses_a_checkpoint_of_another_task(solver):
    with pytest.raises(ValueError, match="the data is sudoku"):
        SolvePuzzleTool(solver, grid_format("sudoku", (9, 9)))
