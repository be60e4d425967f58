"""``trm serve``: options reach the app and uvicorn; a non-local host is an explicit choice with a warning."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from serve_helpers import tiny_checkpoint
from trm.cli import app


@pytest.fixture
def uvicorn_calls(monkeypatch):
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda asgi, **kw: calls.append({"app": asgi, **kw}))
    return calls


@pytest.mark.parametrize("host,warned", [("127.0.0.1", False), ("0.0.0.0", True)])
def test_serve_command(tmp_path, uvicorn_calls, host, warned):
    run = tiny_checkpoint(tmp_path, "sudoku4")
    args = ["serve", "-c", str(run), "--host", host, "--port", "8123", "--device", "cpu", "--max-steps", "5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert ("no authentication" in result.output) == warned
    assert "model sudoku4: sudoku [4, 4]" in result.output and f"http://{host}:8123/" in result.output
    (call,) = uvicorn_calls
    assert call["host"] == host and call["port"] == 8123
    with TestClient(call["app"]) as c:
        assert [m["name"] for m in c.get("/api/models").json()] == ["sudoku4"]
        r = c.post("/api/solve", json={"puzzle": "1...\n....\n....\n...2", "steps": 6})
        assert r.status_code == 422 and "between 1 and 5" in r.json()["error"]


@pytest.mark.parametrize("command", ["serve", "mcp"])
def test_help(command):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "--checkpoint" in result.output


def test_option_defaults_are_the_limits_defaults():
    import inspect

    from trm.cli.serve import serve
    from trm.serve.request_io import Limits

    defaults = {k: p.default for k, p in inspect.signature(serve).parameters.items()}
    limits = Limits()
    assert defaults["max_body_kb"] * 1024 == limits.max_body_bytes
    assert [defaults[k] for k in ("max_steps", "max_pending", "max_batch")] == [
        limits.max_steps,
        limits.max_pending,
        limits.max_batch,
    ]
