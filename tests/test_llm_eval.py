"""``trm llm eval`` against a stub server on 127.0.0.1: every reply kind, scoring checked exactly, resume."""

# ruff: noqa: F811 (the fixtures imported from test_solver are test arguments)

from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pytest

from llm_stub import Reply, StubServer
from test_solver import puzzles, run_dir  # noqa: F401 (fixtures: 6 generated 6x6 Sudoku, their dataset)
from trm.data.format import DatasetMetadata, write_split
from trm.data.maze.generate import generate_records
from trm.data.sudoku import format_grid, is_valid_solution
from trm.llm.formats import grid_format
from trm.llm.journal import journal_path
from trm.llm.run import EvalSettings, StopRun, evaluate_llm

FMT = grid_format("sudoku", (6, 6))


@pytest.fixture(scope="module")
def data(run_dir):
    return run_dir / "data"


def _index_of(body: dict, puzzles) -> int:
    """Which puzzle a chat request is about (the question is the only grid in the user message)."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    q = FMT.read(user)
    return next(i for i, p in enumerate(puzzles) if np.array_equal(p.puzzle, q))


def _swapped(solution: np.ndarray) -> np.ndarray:
    """The solution with two cells of row 0 swapped: 34 of 36 cells right, rows still permutations."""
    g = solution.copy()
    g[0, 0], g[0, 1] = g[0, 1], g[0, 0]
    return g


# What each puzzle's reply is, and what it must score: (exact, token accuracy, valid_solution)
KINDS = ["correct", "wrong", "malformed", "pretty", "empty", "correct"]


def _reply(kind: str, p) -> Reply:
    if kind == "correct":
        return Reply(content=f"```\n{FMT.write(p.solution)}\n```")
    if kind == "pretty":  # repeats the question, reasons, ends with a boxed grid
        return Reply(
            content=f"Puzzle:\n{FMT.write(p.puzzle)}\nThinking...\n{format_grid(p.solution, pretty=True)}"
        )
    if kind == "wrong":
        return Reply(content=FMT.write(_swapped(p.solution)))
    if kind == "malformed":
        return Reply(content="The answer is 42.")
    return Reply(content="")


def _expected(kind: str, p) -> tuple[bool, float, bool]:
    if kind in ("correct", "pretty"):
        return True, 1.0, True
    if kind == "wrong":
        return False, 34 / 36, bool(is_valid_solution(p.puzzle, _swapped(p.solution)))
    return False, 0.0, False


def _settings(data, out, url, **kw) -> EvalSettings:
    return EvalSettings(data=str(data), model="stub-model", out=str(out), host=url, backoff=0.0, **kw)


@pytest.mark.parametrize("api", ["ollama", "openai"])
def test_every_reply_kind_is_scored_exactly(data, puzzles, tmp_path, api):
    def respond(_api, body):
        assert _api == api and body["model"] == "stub-model"
        i = _index_of(body, puzzles)
        return _reply(KINDS[i], puzzles[i])

    out = tmp_path / "report.json"
    with StubServer(respond) as stub:
        url = stub.url if api == "ollama" else stub.url + "/v1"
        report = evaluate_llm(_settings(data, out, url, api=api, concurrency=3))
        assert len(stub.requests) == len(puzzles)  # one request per puzzle, no retries
    assert json.loads(out.read_text()) == report and report["complete"]
    expected = [_expected(k, p) for k, p in zip(KINDS, puzzles, strict=True)]
    records = report["records"]
    assert [r["index"] for r in records] == list(range(len(puzzles)))
    for r, (exact, token, valid), kind in zip(records, expected, KINDS, strict=True):
        assert (r["exact"], r["token_accuracy"], r["valid_solution"]) == pytest.approx((exact, token, valid))
        assert r["parsed"] == (kind not in ("malformed", "empty"))
        assert r["prompt_tokens"] == 11 and r["completion_tokens"] == 7 and r["attempts"] == 1
    m = report["metrics"]
    assert m["num_examples"] == 6
    assert m["exact_accuracy"] == pytest.approx(np.mean([e[0] for e in expected]))
    assert m["token_accuracy"] == pytest.approx(np.mean([e[1] for e in expected]))
    assert m["valid_solution"] == pytest.approx(np.mean([e[2] for e in expected]))
    assert m["parse_rate"] == pytest.approx(4 / 6) and m["num_errors"] == 0
    assert report["task_metrics"] == ["valid_solution"]
    assert report["model_parameters"] == (24_000_000_000 if api == "ollama" else None)


def test_retries_timeouts_and_malformed_bodies(data, puzzles, tmp_path):
    """Puzzle 0: two HTTP 500s then an answer. 1: a non-JSON body, then an answer. 2: always too slow.
    3: a JSON body that is no chat reply, then an answer. Others answer at once."""
    seen: dict[int, int] = {}

    def respond(_api, body):
        i = _index_of(body, puzzles)
        seen[i] = seen.get(i, 0) + 1
        good = Reply(content=FMT.write(puzzles[i].solution))
        if i == 0 and seen[i] <= 2:
            return Reply(status=500)
        if i == 1 and seen[i] == 1:
            return Reply(raw=b"<html>bad gateway</html>")
        if i == 2:
            return Reply(content="too late", delay=2.5)
        if i == 3 and seen[i] == 1:
            return Reply(raw=b'{"unexpected": true}')
        return good

    with StubServer(respond) as stub:
        report = evaluate_llm(_settings(data, tmp_path / "r.json", stub.url, timeout=1.0, retries=2, limit=5))
    recs = {r["index"]: r for r in report["records"]}
    assert recs[0]["attempts"] == 3 and recs[0]["exact"] and recs[0]["error"] is None
    assert recs[1]["attempts"] == 2 and recs[1]["exact"]
    assert recs[3]["attempts"] == 2 and recs[3]["exact"]
    assert seen[2] == 3 and "timeout" in recs[2]["error"] and recs[2]["attempts"] == 3
    assert not recs[2]["exact"] and recs[2]["reply"] is None and recs[2]["token_accuracy"] == 0
    assert report["metrics"]["num_errors"] == 1
    assert report["metrics"]["exact_accuracy"] == pytest.approx(4 / 5)


def test_fatal_error_stops_and_resume_finishes_the_run(data, puzzles, tmp_path):
    out = tmp_path / "report.json"
    fail_from = {"index": 3}

    def respond(_api, body):
        i = _index_of(body, puzzles)
        if i >= fail_from["index"]:
            return Reply(status=404, error="model 'stub-model' not found")
        return _reply(KINDS[i], puzzles[i])

    with StubServer(respond) as stub:
        with pytest.raises(StopRun, match="not found.*ollama pull stub-model"):
            evaluate_llm(_settings(data, out, stub.url, concurrency=1))
        partial = json.loads(out.read_text())
        assert not partial["complete"] and [r["index"] for r in partial["records"]] == [0, 1, 2]
        assert "stopped" in partial["notes"][-1]
        # without --resume, the journal of the earlier run is protected
        with pytest.raises(FileExistsError, match="--resume"):
            evaluate_llm(_settings(data, out, stub.url))
        # a crash mid-write leaves a torn last line: resume drops it
        with open(journal_path(out), "a") as f:
            f.write('{"kind": "puzzle", "index": 3, "rep')
        fail_from["index"] = 99
        before = len(stub.requests)
        report = evaluate_llm(_settings(data, out, stub.url, resume=True))
        asked = [_index_of(b, puzzles) for b in stub.chat_requests()[before:]]
    assert sorted(asked) == [3, 4, 5]  # only what was missing
    assert report["complete"] and [r["index"] for r in report["records"]] == list(range(6))
    with StubServer(
        lambda _a, body: _reply(KINDS[_index_of(body, puzzles)], puzzles[_index_of(body, puzzles)])
    ) as s:
        straight = evaluate_llm(_settings(data, tmp_path / "straight.json", s.url))
    for key in ("exact_accuracy", "token_accuracy", "valid_solution", "parse_rate"):
        assert report["metrics"][key] == pytest.approx(straight["metrics"][key])


def test_resume_refuses_other_settings(data, puzzles, tmp_path):
    out = tmp_path / "report.json"
    with StubServer(lambda _a, body: Reply(content="no idea")) as stub:
        evaluate_llm(_settings(data, out, stub.url, limit=2))
        with pytest.raises(ValueError, match="model: 'stub-model' then, 'other' now"):
            evaluate_llm(
                EvalSettings(data=str(data), model="other", out=str(out), host=stub.url, resume=True)
            )
        more = evaluate_llm(_settings(data, out, stub.url, limit=4, resume=True))  # a larger --limit is fine
    assert more["metrics"]["num_examples"] == 4 and more["metrics"]["exact_accuracy"] == 0


def test_maze_answers_score_with_the_maze_metrics(tmp_path):
    recs = generate_records(3, side=9, seed=4)
    write_split(
        tmp_path / "maze",
        "test",
        inputs=np.stack([r.question.reshape(-1) for r in recs]),
        labels=np.stack([r.answer.reshape(-1) for r in recs]),
        puzzle_identifiers=np.zeros(3, np.int32),
        puzzle_indices=np.arange(4),
        group_indices=np.arange(4),
        metadata=DatasetMetadata(
            task="maze", vocab_size=6, seq_len=81, grid_shape=(9, 9), num_puzzle_identifiers=1
        ),
    )
    fmt = grid_format("maze", (9, 9))

    def respond(_api, body):
        q = fmt.read(body["messages"][1]["content"])
        i = next(k for k, r in enumerate(recs) if np.array_equal(r.question, q))
        if i == 0:  # the labelled path, with spaces for open cells as in the dataset's own text
            return Reply(content=fmt.write(recs[0].answer).replace(".", " "))
        if i == 1:  # the question back: no path
            return Reply(content=fmt.write(recs[1].question))
        return Reply(content="no path exists")

    with StubServer(respond) as stub:
        report = evaluate_llm(_settings(tmp_path / "maze", tmp_path / "m.json", stub.url))
    r0, r1, r2 = report["records"]
    assert r0["exact"] and r0["valid_path"] and r0["valid_shortest_path"]
    assert not r1["exact"] and not r1["valid_path"] and 0 < r1["token_accuracy"] < 1
    path_cells = int((recs[1].answer != recs[1].question).sum())
    assert r1["token_accuracy"] == pytest.approx(1 - path_cells / 81)
    assert not r2["parsed"] and r2["token_accuracy"] == 0
    assert report["metrics"]["valid_shortest_path"] == pytest.approx(1 / 3)
    assert report["task_metrics"] == ["valid_path", "valid_shortest_path"]


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler (KeyboardInterrupt) for one test, as a terminal gives it: a test run
    started in the background (``cmd &``, nohup) inherits SIGINT ignored, and Python then installs none."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("python_sigint")
def test_ctrl_c_keeps_the_puzzle_in_flight(data, puzzles, tmp_path):
    """Ctrl-C while puzzle 2 is being answered: its answer is still journaled, nothing after it is asked,
    and --resume asks only the rest."""
    out = tmp_path / "report.json"
    interrupted = []

    def respond(_api, body):
        i = _index_of(body, puzzles)
        if i == 2 and not interrupted:
            interrupted.append(i)
            os.kill(os.getpid(), signal.SIGINT)  # the main thread is waiting for this reply
            time.sleep(0.2)
        return _reply(KINDS[i], puzzles[i])

    with StubServer(respond) as stub:
        with pytest.raises(StopRun, match="interrupted"):
            evaluate_llm(_settings(data, out, stub.url, concurrency=1))
        partial = json.loads(out.read_text())
        assert [r["index"] for r in partial["records"]] == [0, 1, 2] and not partial["complete"]
        before = len(stub.requests)
        report = evaluate_llm(_settings(data, out, stub.url, concurrency=1, resume=True))
        assert sorted(_index_of(b, puzzles) for b in stub.chat_requests()[before:]) == [3, 4, 5]
    assert report["complete"] and len(report["records"]) == 6


def test_openai_host_without_v1_says_so(data, tmp_path):
    with StubServer(lambda _a, _b: Reply()) as stub, pytest.raises(StopRun, match="including /v1"):
        evaluate_llm(_settings(data, tmp_path / "r.json", stub.url, api="openai"))
