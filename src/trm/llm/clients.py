"""Chat clients: Ollama's ``/api/chat`` (through the ``ollama`` package) and OpenAI-compatible
``/chat/completions`` (through httpx), behind one small interface.

Design choices:

- **One reply type.** Both clients return :class:`ChatReply`: the text, the tool calls (arguments
  already decoded to a dict), token counts, and the assistant message to append to the history. The
  message layouts differ (OpenAI tool calls carry an id and JSON-string arguments and tool results
  name that id; Ollama's carry dicts and tool results name the tool), so each client also builds its
  own tool-result message.
- **One error type.** Every failure becomes :class:`ChatError` with ``retryable``: timeouts, refused
  connections, HTTP 408/429/5xx and malformed bodies may succeed on a second try; other HTTP 4xx
  (unknown model, bad request) will not, and abort a run instead of failing every puzzle the same way.
- **Retries** (:func:`with_retries`): ``retries`` more attempts after the first, waiting
  ``backoff * 2**k`` seconds (capped at 30 s) between them; the number of attempts is reported.
- Deterministic decoding by default (temperature 0) so a rerun asks the same question the same way.
  Ollama's context window (``num_ctx``) is the server's default unless given: a 30x30 maze prompt is
  ~1,000 tokens before any reasoning, so long replies need a larger one (e.g. 16384).
- ``--host`` is the server's base URL: ``http://127.0.0.1:11434`` for Ollama, the URL up to and
  including ``/v1`` for OpenAI-compatible servers. An API key is read from ``$OPENAI_API_KEY`` when set.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
T = TypeVar("T")


class ChatError(Exception):
    """A chat request that failed; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable, self.status = retryable, status
        self.attempts = 1  # set by with_retries


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]  # decoded; {"_unparsed": text} when the model sent invalid JSON
    id: str | None = None


@dataclass
class ChatReply:
    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    message: dict[str, Any] = field(default_factory=dict)  # the assistant message, for the history


class ChatClient(Protocol):
    api: str
    model: str

    def chat(self, messages: list[dict], tools: list[dict] | None = None) -> ChatReply: ...

    def tool_message(self, call: ToolCall, content: str) -> dict: ...

    def model_parameters(self) -> int | None: ...


def with_retries(fn: Callable[[], T], retries: int, backoff: float) -> tuple[T, int]:
    """Call ``fn`` until it succeeds or fails with a non-retryable :class:`ChatError`, at most
    ``retries + 1`` times. Returns (result, attempts); re-raises the last error, with the attempt count."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn(), attempt
        except ChatError as e:
            if not e.retryable or attempt > retries:
                e.attempts = attempt
                raise
            time.sleep(min(30.0, backoff * 2 ** (attempt - 1)))


def _timeout_error(timeout: float) -> ChatError:
    return ChatError(f"no reply within {timeout:g} s (timeout)", retryable=True)


def _status_error(status: int, text: str) -> ChatError:
    return ChatError(
        f"HTTP {status}: {text.strip()[:300]}", retryable=status in RETRYABLE_STATUS, status=status
    )


class OllamaClient:
    """Ollama's chat API at ``host`` (default ``http://127.0.0.1:11434``)."""

    api = "ollama"

    def __init__(
        self,
        host: str,
        model: str,
        *,
        timeout: float,
        temperature: float = 0.0,
        seed: int = 0,
        num_ctx: int | None = None,
    ):
        import ollama

        self.model, self.host, self.timeout = model, host, timeout
        self.options: dict[str, Any] = {"temperature": temperature, "seed": seed}
        if num_ctx is not None:
            self.options["num_ctx"] = num_ctx
        self._client = ollama.Client(host=host, timeout=timeout)

    def _call(self, fn: Callable[[], T]) -> T:
        import httpx
        import ollama

        try:
            return fn()
        except ollama.ResponseError as e:
            status = e.status_code if e.status_code > 0 else 500
            if status == 404:
                hint = f"{e.error} (try: ollama pull {self.model})"
                raise ChatError(hint, retryable=False, status=404) from None
            raise _status_error(status, str(e.error)) from None
        except httpx.TimeoutException:
            raise _timeout_error(self.timeout) from None
        except (ConnectionError, httpx.TransportError) as e:
            raise ChatError(f"cannot reach Ollama at {self.host}: {e}", retryable=True) from None
        except ValueError as e:  # a body that is not JSON, or JSON that is not a chat reply
            raise ChatError(f"malformed reply from {self.host}: {str(e)[:300]}", retryable=True) from None

    def chat(self, messages: list[dict], tools: list[dict] | None = None) -> ChatReply:
        r = self._call(
            lambda: self._client.chat(
                model=self.model, messages=messages, tools=tools or None, options=self.options, stream=False
            )
        )
        msg = r.message
        calls = [
            ToolCall(name=c.function.name, arguments=dict(c.function.arguments or {}))
            for c in msg.tool_calls or []
        ]
        message: dict[str, Any] = {"role": "assistant", "content": msg.content or ""}
        if calls:
            message["tool_calls"] = [{"function": {"name": c.name, "arguments": c.arguments}} for c in calls]
        return ChatReply(
            content=msg.content or "",
            tool_calls=calls,
            prompt_tokens=r.prompt_eval_count,
            completion_tokens=r.eval_count,
            message=message,
        )

    def tool_message(self, call: ToolCall, content: str) -> dict:
        return {"role": "tool", "content": content, "tool_name": call.name}

    def model_parameters(self) -> int | None:
        """The model's parameter count from ``/api/show``; raises ChatError (404: not pulled)."""
        info = self._call(lambda: self._client.show(self.model))
        count = (info.modelinfo or {}).get("general.parameter_count")
        return int(count) if count else None


class OpenAIClient:
    """An OpenAI-compatible chat-completions endpoint; ``base_url`` includes ``/v1``."""

    api = "openai"

    def __init__(self, base_url: str, model: str, *, timeout: float, temperature: float = 0.0, seed: int = 0):
        import httpx

        self.model, self.base_url, self.timeout = model, base_url.rstrip("/"), timeout
        self.temperature, self.seed = temperature, seed
        headers = {"Content-Type": "application/json"}
        if os.environ.get("OPENAI_API_KEY"):
            headers["Authorization"] = f"Bearer {os.environ['OPENAI_API_KEY']}"
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def chat(self, messages: list[dict], tools: list[dict] | None = None) -> ChatReply:
        import httpx

        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "seed": self.seed,
        }
        if tools:
            body["tools"] = tools
        try:
            r = self._client.post("/chat/completions", json=body)
        except httpx.TimeoutException:
            raise _timeout_error(self.timeout) from None
        except httpx.TransportError as e:
            raise ChatError(f"cannot reach {self.base_url}: {e}", retryable=True) from None
        if r.status_code == 404 and not self.base_url.endswith("/v1"):
            raise ChatError(
                f"HTTP 404 at {self.base_url}/chat/completions: for --api openai, --host is the base URL "
                "up to and including /v1",
                retryable=False,
                status=404,
            )
        if r.status_code != 200:
            raise _status_error(r.status_code, r.text)
        try:
            data = r.json()
            choice = data["choices"][0]["message"]
            usage = data.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise ChatError(f"malformed reply from {self.base_url}: {e!r}", retryable=True) from None
        calls = []
        for c in choice.get("tool_calls") or []:
            fn = c.get("function") or {}
            raw = fn.get("arguments")
            try:
                args = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
                if not isinstance(args, dict):
                    raise ValueError("arguments are not an object")
            except ValueError:
                args = {"_unparsed": raw}
            calls.append(ToolCall(name=str(fn.get("name", "")), arguments=args, id=c.get("id")))
        message: dict[str, Any] = {"role": "assistant", "content": choice.get("content") or ""}
        if calls:
            message["tool_calls"] = choice["tool_calls"]
        return ChatReply(
            content=choice.get("content") or "",
            tool_calls=calls,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            message=message,
        )

    def tool_message(self, call: ToolCall, content: str) -> dict:
        return {"role": "tool", "tool_call_id": call.id or call.name, "content": content}

    def model_parameters(self) -> int | None:
        return None  # the chat-completions API does not say


def make_client(api: str, host: str, model: str, **options: Any) -> ChatClient:
    """The client of ``api`` ("ollama" or "openai"); ``options`` are its keyword arguments (timeout, ...)."""
    if api == "ollama":
        return OllamaClient(host, model, **options)
    if api == "openai":
        if options.pop("num_ctx", None) is not None:
            raise ValueError(
                "--num-ctx is an Ollama option; an OpenAI-compatible server sets its context itself"
            )
        return OpenAIClient(host, model, **options)
    raise ValueError(f"unknown API {api!r}; use 'ollama' or 'openai'")
