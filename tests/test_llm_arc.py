"""``trm llm eval`` on ARC: the original test inputs with their demonstrations, pass@1, the tool."""

# ruff: noqa: F811 (the fixtures imported from test_arc_build are test arguments)

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llm_stub import Reply, StubServer
from test_arc_build import built, sources  # noqa: F401 (2 evaluation tasks, 2 test inputs each, out = rot90(in))
from trm.config import RunConfig
from trm.data.arc.llm import ArcForm as ArcFormat
from trm.data.format import open_split
from trm.inference.solver import Solver
from trm.llm.compare import compare, table_rows
from trm.llm.prompts import user_prompt
from trm.llm.run import EvalSettings, evaluate_llm
from trm.llm.tool import TOOL_NAME, SolvePuzzleTool
from trm.models import build_model

FMT = ArcFormat()


def _tasks(sources) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(sources[1]).glob("*.json"))}


def _which(body: dict, tasks: dict[str, dict]) -> tuple[str, int]:
    """(task, test index) of a request: the test input is the last grid of the user message."""
    q = FMT.read(body["messages"][1]["content"])
    for name, task in tasks.items():
        for j, pair in enumerate(task["test"]):
            if np.array_equal(np.array(pair["input"]), q):
                return name, j
    raise AssertionError("the prompt's last grid is no test input")


def test_arc_format_reads_blocks_of_any_shape():
    a, b = np.arange(6).reshape(2, 3) % 10, np.arange(12).reshape(4, 3)[::-1] % 10
    assert np.array_equal(FMT.read(f"```\n{FMT.write(a)}\n```\nor rather\n{FMT.write(b)}\nthanks"), b)
    assert np.array_equal(FMT.read("[[1, 2], [3, 4]]"), [[1, 2], [3, 4]])
    assert np.array_equal(FMT.read("0 1 2\n3 4 5\n[6, 7, 8]"), np.arange(9).reshape(3, 3))
    assert np.array_equal(FMT.read("12\n345\n678"), [[3, 4, 5], [6, 7, 8]])  # a new width starts a new block
    assert FMT.read("no grid here") is None and FMT.read("\n".join(["1"] * 31)) is None  # 31 rows: too many


def test_arc_questions_demos_and_pass_at_1(built, sources, tmp_path):
    """ev0: both test inputs right. ev1: the first right (as JSON), the second wrong (the input back)."""
    tasks = _tasks(sources)
    assert sorted(tasks) == ["ev0", "ev1"]

    def respond(_api, body):
        name, j = _which(body, tasks)
        prompt = body["messages"][1]["content"]
        for pair in tasks[name]["train"]:  # the task's own demonstrations, in order
            assert (
                FMT.write(np.array(pair["input"])) in prompt and FMT.write(np.array(pair["output"])) in prompt
            )
        q = np.array(tasks[name]["test"][j]["input"])
        if name == "ev1" and j == 1:
            return Reply(content=FMT.write(q))
        if name == "ev1":
            return Reply(content="The rule is a rotation:\n" + json.dumps(np.rot90(q).tolist()))
        return Reply(content=f"```\n{FMT.write(np.rot90(q))}\n```")

    with StubServer(respond) as stub:
        report = evaluate_llm(
            EvalSettings(data=str(built), model="m", out=str(tmp_path / "r.json"), host=stub.url)
        )
        asked = len(stub.requests)
        limited = evaluate_llm(
            EvalSettings(data=str(built), model="m", out=str(tmp_path / "l.json"), host=stub.url, limit=1)
        )
    assert asked == 4  # the identity variant's test inputs only, not the 6 variants of each
    m = report["metrics"]
    assert m["num_examples"] == 4 and m["num_tasks"] == 2
    assert m["exact_accuracy"] == pytest.approx(3 / 4) and m["grid_exact"] == pytest.approx(3 / 4)
    assert m["pass@1"] == pytest.approx((1 + 0.5) / 2) and m["pass@1_strict"] == pytest.approx(1 / 2)
    assert m["test_pass@1"] == pytest.approx(3 / 4) and m["valid_grid"] == 1.0
    assert {"grid_exact", "valid_grid", "pass@1"} <= set(report["task_metrics"])
    assert limited["metrics"]["num_tasks"] == 1 and limited["metrics"]["pass@1"] == 1.0

    # beside TRM's voted pass@K, as `trm arc evaluate --report` writes it
    voting = tmp_path / "voting.json"
    arc_metrics = {"arc/pass@1": 0.5, "arc/pass@2": 0.75, "arc/num_tasks": 2.0, "arc/num_test_inputs": 4.0}
    voting.write_text(
        json.dumps({"exact_accuracy": 0.1, "seconds": 2.0, **arc_metrics, "arc/pooled/pass@1": 0.9})
    )
    entries, warnings = compare([tmp_path / "r.json", voting])
    header, rows = table_rows(entries)
    col = {name: k for k, name in enumerate(header)}
    assert [r[col["pass@1"]] for r in rows] == ["75.0%", "50.0%"]
    assert rows[1][col["exact_accuracy"]] == "-" and rows[1][col["s / puzzle"]] == "0.5" and not warnings


def test_arc_prompt_needs_demos():
    with pytest.raises(ValueError, match="demonstration pairs"):
        user_prompt(FMT, np.zeros((2, 2), np.uint8))


class _Recording:
    """A Solver that records the puzzle identifier of every call."""

    def __init__(self, solver: Solver) -> None:
        self.solver, self.metadata, self.model, self.identifiers = solver, solver.metadata, solver.model, []

    def solve(self, grid, *, puzzle_identifier: int = 0):
        self.identifiers.append(puzzle_identifier)
        return self.solver.solve(grid, puzzle_identifier=puzzle_identifier)


def test_arc_tool_solves_with_the_identity_variant(built, sources, tmp_path):
    from trm.data.arc.identifiers import VariantTable

    tasks = _tasks(sources)
    meta = open_split(built, "test").metadata
    model_cfg = dict(hidden_size=16, num_heads=2, num_layers=1, H_cycles=1, L_cycles=1, halt_max_steps=1)
    config = RunConfig.model_validate(
        dict(task="arc", model=dict(**model_cfg, puzzle_emb_len=2, width_multiple=16))
    )
    solver = _Recording(Solver(build_model(config, meta), config, meta))

    def respond(_api, body):
        last = body["messages"][-1]
        if last["role"] == "tool":
            grid = FMT.read(last["content"])
            return Reply(content="no idea" if grid is None else FMT.write(grid))
        name, j = _which(body, tasks)
        return Reply(
            tool_calls=[(TOOL_NAME, {"puzzle": FMT.write(np.array(tasks[name]["test"][j]["input"]))})]
        )

    with StubServer(respond) as stub:
        report = evaluate_llm(
            EvalSettings(
                data=str(built), model="m", out=str(tmp_path / "t.json"), host=stub.url, concurrency=1
            ),
            tool=SolvePuzzleTool(solver, FMT),
        )
    first = {t.name: t.first for t in VariantTable.load(built).tasks}
    assert solver.identifiers == [first["ev0"], first["ev0"], first["ev1"], first["ev1"]]
    for r in report["records"]:
        (call,) = r["tool_calls"]
        assert call["ok"] and call["input_matches"]
        assert r["answer"] == (call["answer"] or None)  # the LLM copied the tool's grid (if it drew one)
    assert report["metrics"]["tool_call_rate"] == 1.0
