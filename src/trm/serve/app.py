"""The FastAPI app behind ``trm serve``: the page at ``/``, the JSON API under ``/api``, OpenAPI at ``/docs``.

Design choices:

- ``create_app(models, limits)`` is a factory over already-loaded models (see
  :func:`trm.serve.registry.load_models`), so tests build an app around tiny models in memory.
- Every error is JSON ``{"error": "words"}`` with a 4xx status: validation errors (422) are reworded from
  pydantic's list into one sentence (the list stays under ``detail``), unknown routes are 404, a body
  over ``max_body_bytes`` is 413 (checked while the body streams in, before any parsing), a full queue
  is 429. Request fields are strict (no ``"1"`` for 1, no ``true`` for a cell) and unknown fields are
  refused, so a typo is an error rather than a silent default.
- The page is static files shipped in the package (no build step, no CDN): ``/`` serves ``index.html``
  and ``/static`` the rest. (FastAPI's ``/docs`` page itself loads Swagger UI from a CDN; the schema at
  ``/openapi.json`` needs nothing.)
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

import trm
from trm.serve.batching import SolveQueue
from trm.serve.examples import example_puzzle
from trm.serve.registry import ServedModel, ServeError, pick_model
from trm.serve.request_io import Limits, check_steps, check_ttc, read_question, solution_json

STATIC_DIR = Path(__file__).parent / "static"


class SolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: StrictStr | None = Field(None, description="A served model's name; optional with one model.")
    puzzle: StrictStr | list[list[StrictInt]] = Field(
        description="Puzzle text in the task's layout, or a grid: a list of rows of task values."
    )
    steps: StrictInt | None = Field(None, description="Supervision steps (default: the model's N_sup).")
    ttc: StrictStr | None = Field(None, description="Test-time compute spec, where the solver has one.")


class StepOut(BaseModel):
    index: int
    grid: list[list[int]]
    changed: list[list[bool]]
    q_halt: float | None
    valid: bool


class ParticleOut(BaseModel):
    id: int = Field(description="The particle's index (0 to count - 1).")
    p_halt: float | None = Field(description="sigmoid of its halting signal after this step.")
    weight: float | None = Field(
        description="Its resampling weight; null for a reference particle and for noise trajectories."
    )
    from_: int | None = Field(
        alias="from", description="The particle it descends from at the previous step shown (null: first)."
    )
    dropped: bool = Field(description="It leaves no descendant at the next step shown (resampled away).")
    running: bool = Field(description="It ran this step (false: it had stopped and keeps its last answer).")
    agrees: bool = Field(description="Its answer equals the final answer.")
    cells: list[list[int]] | None = Field(description="[row, column, value] where it differs from the answer")
    grid: list[list[int]] | None = Field(description="Its whole grid, only when not of the answer's shape.")


class ParticleStepOut(BaseModel):
    index: int = Field(description="The supervision step (1-based).")
    particles: list[ParticleOut]


class ParticlesOut(BaseModel):
    count: int = Field(description="Particles that ran.")
    chosen: int = Field(description="The particle whose answer was chosen.")
    shown: list[int] = Field(description="The particles sent (capped; the chosen one always among them).")
    reference: list[bool] = Field(description="Per particle shown: a reference, never resampled.")
    steps_total: int = Field(description="Supervision steps of the search (the steps sent are capped).")
    steps: list[ParticleStepOut]


class TTCOut(BaseModel):
    candidates: int = Field(description="Trajectories that ran (a gate's skipped search is not counted).")
    chosen: int
    calls: int
    searched: bool = Field(True, description="False: a gate kept the plain answer; the search did not run.")
    particles: ParticlesOut | None = Field(
        None, description="A particle search's particles (or noise trajectories'), step by step."
    )


class SolveResponse(BaseModel):
    model: str
    task: str
    question: list[list[int]]
    answer: list[list[int]]
    valid: bool
    halt_step: int | None
    steps: list[StepOut]
    ttc: TTCOut | None = None


class ModelInfo(BaseModel):
    name: str
    task: str
    grid_shape: list[int]
    parameters: int
    n_sup: int
    source: str
    symbols: list[str] | None = Field(None, description="Names of the cell values (a user's grid task).")


class Example(BaseModel):
    puzzle: str
    grid: list[list[int]]
    source: str


class BodyLimit:
    """ASGI middleware: refuse (413) a request body over ``max_bytes``, counting as it streams in."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        too_big = JSONResponse(
            {"error": f"request body is larger than the limit of {self.max_bytes} bytes"}, status_code=413
        )
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await too_big(scope, receive, send)
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            total += len(chunks[-1])
            if total > self.max_bytes:
                return await too_big(scope, receive, send)
            if not message.get("more_body"):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _validation_message(errors: list[dict]) -> str:
    parts = []
    for e in errors[:3]:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {e.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "bad request: " + "; ".join(parts) + more


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServeError)
    async def serve_error(request: Request, e: ServeError) -> JSONResponse:
        return JSONResponse({"error": e.message}, status_code=e.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(x.get("loc", ())), "msg": str(x.get("msg", ""))} for x in e.errors()]
        return JSONResponse({"error": _validation_message(errors), "detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(e.detail)}, status_code=e.status_code, headers=e.headers)


def create_app(models: dict[str, ServedModel], limits: Limits | None = None) -> FastAPI:
    """The app serving ``models`` (name -> model) under ``limits``."""
    if not models:
        raise ValueError("create_app needs at least one model")
    limits = limits or Limits()
    queue = SolveQueue(limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        queue.close()

    app = FastAPI(
        title="trm serve",
        version=trm.__version__,
        description="Watch a tiny recursive model refine its answer, step by step.",
        lifespan=lifespan,
    )
    app.state.models, app.state.limits, app.state.queue = models, limits, queue
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    _install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        """Liveness, the served models and how many solves are waiting."""
        return {"status": "ok", "models": list(models), "pending": queue.pending}

    @app.get("/api/models", response_model=list[ModelInfo], response_model_exclude_none=True)
    async def list_models() -> list[dict[str, Any]]:
        """Every served model: its name, task, grid shape, parameters, N_sup and checkpoint."""
        return [m.describe() for m in models.values()]

    @app.get("/api/example", response_model=Example)
    def example(model: str | None = None, index: int = Query(0, ge=0, le=1_000_000)) -> dict:
        """An example puzzle (text) of the kind and size the model solves."""
        return example_puzzle(pick_model(models, model), index)

    @app.post("/api/solve", response_model=SolveResponse, response_model_by_alias=True)
    async def solve(req: SolveRequest) -> dict[str, Any]:
        """Solve one puzzle; the answer, its validity, every supervision step and where halting stops."""
        served = pick_model(models, req.model)
        check_steps(req.steps, limits)
        if req.ttc is not None:
            check_ttc(req.ttc, limits)
        question = read_question(served, req.puzzle, limits)
        solution = await queue.solve(served, question, steps=req.steps, ttc=req.ttc)
        return solution_json(served, solution, limits)

    return app
