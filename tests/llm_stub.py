"""A stub LLM server on 127.0.0.1 for the ``trm llm`` tests.

It speaks Ollama's ``POST /api/chat`` and ``POST /api/show`` and OpenAI's ``POST /v1/chat/completions``
(non-streaming). What it answers is decided per request by a test's ``respond(api, body)`` function,
which returns a :class:`Reply`: text, tool calls, an HTTP error, a malformed body, or a delay.
Every request body is kept in ``requests`` so tests can check what the client sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str = ""
    tool_calls: list[tuple[str, dict]] = field(default_factory=list)  # (name, arguments)
    status: int = 200
    error: str = "stub error"
    raw: bytes | None = None  # send these bytes as the body instead (a malformed reply)
    delay: float = 0.0  # seconds to wait before answering
    prompt_tokens: int = 11
    completion_tokens: int = 7


def _ollama_body(reply: Reply, model: str) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [{"function": {"name": n, "arguments": a}} for n, a in reply.tool_calls]
    return {
        "model": model,
        "created_at": "2026-01-01T00:00:00Z",
        "message": message,
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": reply.prompt_tokens,
        "eval_count": reply.completion_tokens,
    }


def _openai_body(reply: Reply, model: str) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{k}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
            for k, (n, a) in enumerate(reply.tool_calls)
        ]
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens},
    }


class StubServer:
    """``with StubServer(respond) as stub:`` -> ``stub.url`` (Ollama host), ``stub.url + "/v1"`` (OpenAI)."""

    def __init__(self, respond: Callable[[str, dict], Reply], parameters: int | None = 24_000_000_000):
        self.respond, self.parameters = respond, parameters
        self.requests: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path == "/api/show":
                    if stub.parameters is None:
                        return self._send(404, {"error": f"model '{body.get('model')}' not found"})
                    info = {"general.architecture": "stub", "general.parameter_count": stub.parameters}
                    return self._send(200, {"modelfile": "", "details": {}, "model_info": info})
                api = {"/api/chat": "ollama", "/v1/chat/completions": "openai"}.get(self.path)
                if api is None:
                    return self._send(404, {"error": f"no route {self.path}"})
                with stub._lock:
                    stub.requests.append((api, body))
                reply = stub.respond(api, body)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.raw is not None:
                    return self._send_bytes(reply.status, reply.raw)
                if reply.status != 200:
                    return self._send(reply.status, {"error": reply.error})
                make = _ollama_body if api == "ollama" else _openai_body
                self._send(200, make(reply, body.get("model", "")))

            def _send(self, status: int, obj: dict) -> None:
                self._send_bytes(status, json.dumps(obj).encode())

            def _send_bytes(self, status: int, data: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def chat_requests(self) -> list[dict]:
        with self._lock:
            return [body for _, body in self.requests]

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
