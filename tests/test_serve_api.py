"""The JSON API of ``trm serve`` on tiny random models of every task: answers, errors, limits, batching."""

from __future__ import annotations

import asyncio
import json

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from conftest import shared_data_dir
from serve_helpers import N_SUP, tiny_checkpoint
from trm.data.maze.generate import generate_maze
from trm.data.maze.grid import OPEN, START, render_maze
from trm.data.sudoku import format_grid, generate
from trm.models.cost import count_parameters
from trm.serve.app import create_app
from trm.serve.registry import load_models, model_name
from trm.serve.request_io import Limits


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    kinds = ("sudoku", "sudoku4", "maze", "arc", "grid")
    return load_models([str(tiny_checkpoint(root, k)) for k in kinds], "cpu")


@pytest.fixture(scope="module")
def client(models):
    with TestClient(create_app(models)) as c:
        yield c


def sudoku_text(n: int = 6, seed: int = 0) -> str:
    return format_grid(generate(n, count=1, seed=seed)[0].puzzle)


def maze_grid(side: int = 7, seed: int = 0) -> list[list[int]]:
    return generate_maze(np.random.default_rng(seed), side).tolist()


def maze_text(side: int = 7, seed: int = 0) -> str:
    return render_maze(np.asarray(maze_grid(side, seed)))


def with_cell(grid: list[list[int]], r: int, c: int, v: int) -> list[list[int]]:
    out = [list(row) for row in grid]
    out[r][c] = v
    return out


def check_solution(body: dict, served, puzzle) -> None:
    """The answer is the last step's, changed marks exactly the cells that differ, halting is the first q>0,
    and it equals what the Solver returns for the same puzzle."""
    steps = body["steps"]
    prev = np.asarray(body["question"])
    for k, s in enumerate(steps):
        grid = np.asarray(s["grid"])
        changed = np.asarray(s["changed"], dtype=bool)
        expect = grid != prev if grid.shape == prev.shape else np.ones(grid.shape, bool)
        assert s["index"] == k + 1 and np.array_equal(changed, expect)
        assert s["valid"] == served.solver.task.is_valid_answer(np.asarray(body["question"]), grid)
        prev = grid
    assert body["answer"] == steps[-1]["grid"] and body["valid"] == steps[-1]["valid"]
    fired = [s["index"] for s in steps if s["q_halt"] is not None and s["q_halt"] > 0]
    assert body["halt_step"] == (fired[0] if fired else None)
    direct = served.solver.solve(served.solver.task.parse(puzzle), steps=len(steps))
    assert np.array_equal(np.asarray(body["answer"]), direct.answer)
    assert [s["q_halt"] for s in steps] == pytest.approx([s.q_halt for s in direct.trace], abs=1e-4)


def test_models_and_health(client, models):
    listed = client.get("/api/models").json()
    assert [m["name"] for m in listed] == ["sudoku", "sudoku4", "maze", "arc", "grid"]
    for m in listed:
        served = models[m["name"]]
        names = {"symbols"} if m["task"] == "grid" else set()  # a user's task names its cell values
        assert set(m) == {"name", "task", "grid_shape", "parameters", "n_sup", "source"} | names
        assert m["parameters"] == count_parameters(served.solver.model) > 0
        assert m["n_sup"] == N_SUP and m["source"] == served.source
        assert tuple(m["grid_shape"]) == tuple(served.solver.metadata.grid_shape)
    assert listed[-1]["symbols"] == list(models["grid"].solver.task.symbols)
    assert client.get("/api/health").json() == {"status": "ok", "models": list(models), "pending": 0}
    assert "/api/solve" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_model_names():
    assert model_name("runs/quickstart/checkpoints/step_00000100") == "quickstart"
    assert model_name("runs/quickstart/") == "quickstart"
    assert model_name("hf://someone/trm-sudoku") == "trm-sudoku"
    assert model_name("hf://someone/trm/maze@v1.0") == "maze"


def test_duplicate_names_are_numbered(models):
    src = models["maze"].source
    assert list(load_models([src, src], "cpu")) == ["maze", "maze-2"]
    with pytest.raises(ValueError, match="at least one checkpoint"):
        load_models([], "cpu")


@pytest.mark.parametrize(
    "name,puzzle",
    [
        ("sudoku", sudoku_text(6)),
        ("sudoku4", sudoku_text(4)),
        ("maze", maze_text()),
        ("arc", "0120\n3456\n7890"),
        ("arc", json.dumps({"train": [], "test": [{"input": [[1, 2], [3, 4]]}]})),
        ("grid", "010\n200\n001"),
    ],
)
def test_solve_each_task(client, models, name, puzzle):
    r = client.post("/api/solve", json={"model": name, "puzzle": puzzle})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == name and body["task"] == models[name].solver.metadata.task
    assert len(body["steps"]) == N_SUP
    check_solution(body, models[name], puzzle)


def test_grid_and_text_agree_and_steps(client, models):
    text = sudoku_text(6, seed=4)
    grid = generate(6, count=1, seed=4)[0].puzzle.tolist()
    by_text = client.post("/api/solve", json={"model": "sudoku", "puzzle": text, "steps": 5}).json()
    by_grid = client.post("/api/solve", json={"model": "sudoku", "puzzle": grid, "steps": 5}).json()
    assert by_text == by_grid and len(by_text["steps"]) == 5 and by_text["question"] == grid


@pytest.mark.parametrize("spec", ["noise:k=3,sigma=0.3", "smc:k=3,sigma=0.3,resample=q"])
def test_test_time_compute_passes_through(client, models, spec):
    text = sudoku_text(6, seed=5)
    r = client.post("/api/solve", json={"model": "sudoku", "puzzle": text, "ttc": spec})
    assert r.status_code == 200, r.text
    body = r.json()
    direct = models["sudoku"].solver.solve(text, ttc=spec)
    assert body["ttc"]["candidates"] == 3 == len(direct.candidates)
    assert body["ttc"]["chosen"] == direct.chosen and body["answer"] == direct.answer.tolist()
    assert client.post("/api/solve", json={"model": "sudoku", "puzzle": text}).json()["ttc"] is None


def test_a_gate_that_kept_the_plain_answer_reports_one_candidate(client):
    text = sudoku_text(6, seed=5)
    r = client.post("/api/solve", json={"model": "sudoku", "puzzle": text, "ttc": "smc:k=4,gate=q,tau=0"})
    assert r.status_code == 200, r.text
    ttc = r.json()["ttc"]
    particles = ttc.pop("particles")
    assert ttc == {"candidates": 1, "chosen": 0, "calls": ttc["calls"], "searched": False}
    assert (particles["count"], particles["shown"], particles["reference"]) == (1, [0], [True])
    searched = client.post(
        "/api/solve", json={"model": "sudoku", "puzzle": text, "ttc": "smc:k=4,gate=q,tau=1"}
    )
    assert searched.json()["ttc"]["candidates"] == 4 and searched.json()["ttc"]["searched"] is True
    assert searched.json()["ttc"]["calls"] > r.json()["ttc"]["calls"]


def test_a_particle_search_sends_its_particles_capped(models):
    """``ttc.particles``: at most the capped particles (the chosen one among them) and steps (first and last
    kept); each particle's cells rebuild exactly its grid of the same search run directly;
    none without ttc or with one trajectory per copy."""
    text, spec = sudoku_text(6, seed=5), "steps:n=7+smc:k=6,sigma=1,stop=none"
    limits = Limits(max_particles_shown=3, max_particle_steps_shown=3)
    with TestClient(create_app({"sudoku": models["sudoku"]}, limits)) as c:
        body = c.post("/api/solve", json={"puzzle": text, "ttc": spec}).json()
        assert c.post("/api/solve", json={"puzzle": text}).json()["ttc"] is None
        for plain in ("steps:n=2", "augment:k=2"):
            assert (
                c.post("/api/solve", json={"puzzle": text, "ttc": plain}).json()["ttc"]["particles"] is None
            )
    pt = body["ttc"]["particles"]
    assert (pt["count"], pt["steps_total"], pt["chosen"]) == (6, 7, body["ttc"]["chosen"])
    assert (
        len(pt["shown"]) == 3
        and pt["chosen"] in pt["shown"]
        and pt["reference"] == [i == 0 for i in pt["shown"]]
    )
    assert [s["index"] for s in pt["steps"]] == [1, 4, 7]
    solver = models["sudoku"].solver
    trace = solver.solve(text, ttc=spec).particles  # the same seeded search
    answer = np.asarray(body["answer"])
    for s in pt["steps"]:
        assert [p["id"] for p in s["particles"]] == pt["shown"]
        for p in s["particles"]:
            grid = answer.copy()
            for r, c, v in p["cells"]:
                assert grid[r, c] != v
                grid[r, c] = v
            expected = solver.task.decode(trace.tokens[s["index"] - 1, p["id"]], (6, 6))
            assert np.array_equal(grid, expected) and p["grid"] is None
            assert p["agrees"] == (not p["cells"]) and 0 <= p["p_halt"] <= 1
            assert (p["weight"] is None) == (p["id"] == 0)
            assert (p["from"] is None) == (s["index"] == 1) and p["running"]
    assert pt["steps"][-1]["particles"][pt["shown"].index(pt["chosen"])]["agrees"]
    with pytest.raises(ValueError, match="max_particle_steps_shown must be at least 2"):
        Limits(max_particle_steps_shown=1)  # the first and the last step are always sent


def test_noise_trajectories_go_out_as_particles_never_resampled(models):
    """``noise:k=K``: the K trajectories as particles, each its own lineage (``from`` itself, never
    dropped), no weights, trajectory 0 (noise-free) the reference; the cells are those of the same run."""
    text, spec = sudoku_text(6, seed=5), "steps:n=4+noise:k=3,sigma=1"
    with TestClient(create_app({"sudoku": models["sudoku"]})) as c:
        body = c.post("/api/solve", json={"puzzle": text, "ttc": spec}).json()
    pt = body["ttc"]["particles"]
    assert (pt["count"], pt["shown"], pt["reference"]) == (3, [0, 1, 2], [True, False, False])
    assert (pt["chosen"], pt["steps_total"], len(pt["steps"])) == (body["ttc"]["chosen"], 4, 4)
    solver = models["sudoku"].solver
    trace = solver.solve(text, ttc=spec).particles
    answer = np.asarray(body["answer"])
    for s in pt["steps"]:
        for p in s["particles"]:
            assert (
                p["weight"] is None
                and not p["dropped"]
                and p["from"] == (p["id"] if s["index"] > 1 else None)
            )
            grid = answer.copy()
            for r, col, v in p["cells"]:
                grid[r, col] = v
            assert np.array_equal(grid, solver.task.decode(trace.tokens[s["index"] - 1, p["id"]], (6, 6)))
    assert pt["steps"][-1]["particles"][pt["chosen"]]["agrees"]


def test_one_model_needs_no_name(models):
    with TestClient(create_app({"maze": models["maze"]})) as c:
        r = c.post("/api/solve", json={"puzzle": maze_text(seed=2)})
        assert r.status_code == 200 and r.json()["model"] == "maze"


def test_examples_solve(client, models):
    for name in models:
        ex = client.get("/api/example", params={"model": name, "index": 1}).json()
        assert np.array_equal(np.asarray(ex["grid"]), models[name].solver.task.parse(ex["puzzle"]))
        assert client.post("/api/solve", json={"model": name, "puzzle": ex["grid"]}).status_code == 200
    assert "data/test" in client.get("/api/example", params={"model": "sudoku"}).json()["source"]


def test_a_file_name_is_not_read(client, tmp_path):
    f = tmp_path / "puzzle.txt"
    f.write_text(sudoku_text(6) + "\n")
    r = client.post("/api/solve", json={"model": "sudoku", "puzzle": str(f)})
    assert r.status_code == 422 and "bad puzzle" in r.json()["error"]


S = {"model": "sudoku"}
MAZE = maze_grid()
MAZE_OPEN = tuple(int(i) for i in np.argwhere(np.asarray(MAZE) == OPEN)[0])
BAD = [
    ({"model": "nope", "puzzle": "1"}, 404, "unknown model 'nope'"),
    ({"puzzle": sudoku_text()}, 422, "several models are served"),
    ({**S, "puzzle": "12x4"}, 422, "bad puzzle"),
    ({**S, "puzzle": "   "}, 422, "empty"),
    ({**S, "puzzle": sudoku_text(4)}, 422, "6x6"),
    ({**S, "puzzle": [[1, 2], [3]]}, 422, "ragged"),
    ({**S, "puzzle": []}, 422, "empty"),
    ({**S, "puzzle": [[0] * 31] * 31}, 422, "larger than 30x30"),
    ({**S, "puzzle": [[7] * 6] * 6}, 422, "not sudoku cells"),
    ({**S, "puzzle": [[-1] * 6] * 6}, 422, "value -1 at row 1, column 1 is negative"),
    ({**S, "puzzle": [[2**40] * 6] * 6}, 422, "out of range"),
    ({**S, "puzzle": [[1, 1, 0, 0, 0, 0]] + [[0] * 6] * 5}, 422, "bad puzzle"),  # a repeated clue
    ({**S, "puzzle": [[True] * 6] * 6}, 422, "bad request"),
    ({**S, "puzzle": [[1.0] * 6] * 6}, 422, "bad request"),
    ({**S, "puzzle": sudoku_text(), "steps": 0}, 422, "steps must be between 1 and 64"),
    ({**S, "puzzle": sudoku_text(), "steps": 65}, 422, "steps must be between 1 and 64"),
    ({**S, "puzzle": sudoku_text(), "steps": "3"}, 422, "steps"),
    ({**S, "puzzle": sudoku_text(), "stpes": 3}, 422, "stpes"),
    ({**S, "puzzle": sudoku_text(), "ttc": "no-such-method:k=2"}, 422, "bad ttc"),
    ({**S, "puzzle": sudoku_text(), "ttc": "noise:k=100"}, 422, "100 candidates, the limit is 64"),
    ({**S, "puzzle": sudoku_text(), "ttc": "steps:n=99"}, 422, "steps must be between 1 and 64"),
    ({"model": "maze", "puzzle": with_cell(MAZE, *MAZE_OPEN, START)}, 422, "bad puzzle"),  # two starts
    ({"model": "maze", "puzzle": with_cell(MAZE, *MAZE_OPEN, 9)}, 422, "values outside"),
    ({"model": "maze", "puzzle": maze_grid(side=5)}, 422, "does not fit model 'maze'"),
    ({"model": "arc", "puzzle": [[10]]}, 422, "arc cells"),
    ({"model": "arc", "puzzle": "{not json"}, 422, "bad puzzle"),
    ({"model": "arc", "puzzle": "12\n3"}, 422, "bad puzzle"),
    ({}, 422, "puzzle"),
]


@pytest.mark.parametrize("body,status,words", BAD)
def test_bad_requests_are_4xx_json_with_words(client, body, status, words):
    r = client.post("/api/solve", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


def test_malformed_http_is_4xx_json(client):
    cases = [
        client.post("/api/solve", content=b"{not json", headers={"content-type": "application/json"}),
        client.post("/api/solve", content=b"[1, 2]", headers={"content-type": "application/json"}),
        client.post("/api/solve", content=b"\xff\xfe", headers={"content-type": "application/json"}),
        client.get("/api/solve"),
        client.get("/no/such/page"),
        client.get("/api/example", params={"model": "sudoku", "index": -1}),
        client.get("/api/example", params={"model": "nope"}),
    ]
    assert [r.status_code for r in cases] == [422, 422, 422, 405, 404, 422, 404]
    for r in cases:
        assert isinstance(r.json()["error"], str) and r.json()["error"]


def test_body_limit_413(models):
    with TestClient(create_app(models, Limits(max_body_bytes=2000))) as c:
        big = {"model": "sudoku", "puzzle": "." * 3000}
        r = c.post("/api/solve", json=big)
        assert r.status_code == 413 and "2000 bytes" in r.json()["error"]

        def chunks():  # no content-length: the limit is counted while the body streams in
            yield b'{"model": "sudoku", "puzzle": "'
            for _ in range(10):
                yield b"." * 500
            yield b'"}'

        r = c.post("/api/solve", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert c.post("/api/solve", json={"model": "sudoku", "puzzle": sudoku_text()}).status_code == 200


async def _post_all(app, bodies):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        return await asyncio.gather(*(c.post("/api/solve", json=b) for b in bodies))


def test_concurrent_requests_are_batched(models):
    app = create_app(models, Limits(batch_window_s=0.2))
    texts = [sudoku_text(6, seed=s) for s in range(6)]
    bodies = [{"model": "sudoku", "puzzle": t} for t in texts] + [{"model": "maze", "puzzle": maze_text()}]
    bodies.append({"model": "sudoku", "puzzle": "bad"})  # a bad request fails alone
    replies = asyncio.run(_post_all(app, bodies))
    assert [r.status_code for r in replies] == [200] * 7 + [422]
    for text, r in zip(texts, replies, strict=False):
        check_solution(r.json(), models["sudoku"], text)
    sizes = list(app.state.queue.batch_sizes)
    assert sorted(sizes) == [1, 6]  # six Sudokus in one batch, the maze in its own
    assert app.state.queue.pending == 0


def test_too_many_pending_is_429(models):
    app = create_app(models, Limits(max_pending=2, batch_window_s=0.3))
    replies = asyncio.run(
        _post_all(app, [{"model": "sudoku", "puzzle": sudoku_text(6, seed=s)} for s in range(5)])
    )
    codes = sorted(r.status_code for r in replies)
    assert codes == [200, 200, 429, 429, 429]
    assert all("limit 2" in r.json()["error"] for r in replies if r.status_code == 429)


class _PickySolver:
    """Refuses (ValueError) any batch holding the question "bad"; answers the others with themselves."""

    def solve_many(self, questions, steps=None):
        if "bad" in questions:
            raise ValueError("bad question")
        return list(questions)


def test_a_refused_batch_is_solved_one_at_a_time():
    from trm.serve.batching import _Job, _solve_batch
    from trm.serve.registry import ServedModel, ServeError

    served = ServedModel(name="picky", source="-", solver=_PickySolver())
    jobs = [_Job(served, q, None, None, None) for q in ("a", "bad", "c")]
    a, bad, c = _solve_batch(jobs)
    assert (a, c) == ("a", "c")
    assert isinstance(bad, ServeError) and bad.status == 422 and "bad question" in bad.message


def test_non_finite_q_halt_is_null(models):
    from dataclasses import replace

    from trm.serve.request_io import solution_json

    served = models["sudoku"]
    sol = served.solver.solve(sudoku_text())
    sol.trace[0] = replace(sol.trace[0], q_halt=float("nan"))
    body = solution_json(served, sol)
    assert body["steps"][0]["q_halt"] is None and json.dumps(body, allow_nan=False)


REFERENCE = shared_data_dir() / "reference_checkpoints" / "trm_mlpt"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"no reference checkpoint at {REFERENCE}")
def test_serves_a_reference_checkpoint():
    """A checkpoint in the reference code's layout (step_N + all_config.yaml) is served like ours."""
    models = load_models([str(REFERENCE)], "cpu")
    text = sudoku_text(9, seed=0)
    with TestClient(create_app(models)) as c:
        (info,) = c.get("/api/models").json()
        assert info["name"] == "trm_mlpt" and info["grid_shape"] == [9, 9] and info["n_sup"] == 16
        r = c.post("/api/solve", json={"puzzle": text, "steps": 4})
    assert r.status_code == 200, r.text
    check_solution(r.json(), models["trm_mlpt"], text)
