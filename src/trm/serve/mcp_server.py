"""``trm mcp``: served models as Model Context Protocol tools, so an LLM agent can delegate puzzles.

Design choices:

- Two tools: ``list_models`` (the same entries as ``GET /api/models``) and ``solve_puzzle`` (puzzle text
  in; the answer as text in the task's layout and as a grid, whether it is valid by the task's rules,
  the steps used and where the halting head would stop). An agent reads and writes text, so the
  answer comes back in the same layout the puzzle went in.
- Puzzles are read and checked exactly as the HTTP API reads them
  (:func:`trm.serve.request_io.read_question`), limits included; a refused puzzle is a tool error
  whose message says what is wrong, which the agent can act on.
- Test-time compute (``ttc``, the specs of ``trm solve --ttc``) is checked as the HTTP API checks it
  (:func:`trm.serve.request_io.check_ttc`: the same parser, the same caps on candidates and steps); a bad
  spec is a tool error quoting the spec and the character where it goes wrong. With a spec the answer
  adds ``ttc``: candidates, the one chosen, the network calls spent, whether a gate searched, and for
  particles (``smc``, or ``noise`` with k > 1) a per-step summary
  (:func:`trm.inference.ttc.particle_trace.step_summary`, over at most ``max_particle_steps_shown`` steps)
  rather than the page's particle grids: an agent wants the numbers, not the pictures.
- stdio transport only: the server is a subprocess of the agent's host, with nothing listening on a port.
- Written for the ``mcp`` SDK 2.x (``MCPServer``); 1.x (``FastMCP``) has the same decorator API and is
  used when that is what is installed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trm.serve.particles_json import shown_steps
from trm.serve.registry import ServedModel, ServeError, pick_model
from trm.serve.request_io import Limits, check_steps, check_ttc, read_question

INSTRUCTIONS = (
    "Tiny recursive reasoning models that solve grid puzzles (Sudoku, mazes, ARC grids). Call list_models "
    "to see which tasks and grid sizes are served, then solve_puzzle with the puzzle as text."
)


def _server_classes() -> tuple[type, type[Exception]]:
    try:  # mcp 2.x
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError:  # mcp 1.x
        from mcp.server.fastmcp import FastMCP as MCPServer
        from mcp.server.fastmcp.exceptions import ToolError
    return MCPServer, ToolError


def ttc_json(spec: str, solution, limits: Limits) -> dict[str, Any]:
    """The ``ttc`` part of a ``solve_puzzle`` answer under spec ``spec`` (see the module docstring)."""
    out: dict[str, Any] = {
        "spec": spec,
        "candidates": len(solution.candidates),
        "chosen": int(solution.chosen),
        "calls": int(solution.calls),
        "searched": bool(solution.searched),
    }
    trace = solution.particles
    if trace is not None:
        from trm.inference.ttc.particle_trace import step_summary

        out["particles"] = {
            "count": trace.count,
            "chosen": trace.chosen,
            "resampled": trace.resampled,
            "references": int((trace.group < 0).sum()),
            "steps_total": trace.steps,
            "steps": step_summary(trace, shown_steps(trace.steps, limits.max_particle_steps_shown)),
        }
    return out


def solve_text(
    models: dict[str, ServedModel],
    puzzle: str,
    model: str | None,
    steps: int | None,
    limits: Limits,
    ttc: str | None = None,
) -> dict[str, Any]:
    """The ``solve_puzzle`` tool's answer; raises ServeError for a refused request."""
    served = pick_model(models, model)
    check_steps(steps, limits)
    if ttc is not None:
        check_ttc(ttc, limits)
    question = read_question(served, puzzle, limits)
    try:
        solution = served.solver.solve(question, steps=steps, ttc=ttc)
    except ValueError as e:  # e.g. augment:k=... for a task without symmetries; as the HTTP API says it
        raise ServeError(422, f"the solver refused the request: {e}") from None
    out = {
        "model": served.name,
        "task": solution.task,
        "answer": served.solver.task.render_text(solution.answer),
        "answer_grid": np.asarray(solution.answer).tolist(),
        "valid": bool(solution.valid),
        "steps_used": len(solution.trace),
        "halt_step": solution.halted_at,
    }
    if ttc is not None:
        out["ttc"] = ttc_json(ttc, solution, limits)
    return out


def build_server(models: dict[str, ServedModel], limits: Limits | None = None) -> Any:
    """An MCP server (not yet running) with the ``list_models`` and ``solve_puzzle`` tools."""
    limits = limits or Limits()
    server_cls, tool_error = _server_classes()
    server = server_cls("trm", instructions=INSTRUCTIONS)

    @server.tool()
    def list_models() -> list[dict[str, Any]]:
        """The served models: name, task, grid_shape [rows, cols], parameters, n_sup (default steps),
        source (the checkpoint)."""
        return [m.describe() for m in models.values()]

    @server.tool()
    def solve_puzzle(
        puzzle: str, model: str | None = None, steps: int | None = None, ttc: str | None = None
    ) -> dict[str, Any]:
        """Solve a grid puzzle with a tiny recursive reasoning model.

        puzzle: the puzzle as text. Sudoku: one line of digits with '.' for blanks (81 characters for
        9x9), or rows. Maze: rows of '#' wall, ' ' open, 'S' start, 'G' goal. ARC: rows of colour
        digits 0-9, or the grid as JSON. model: a name from list_models (optional with one model).
        steps: supervision steps to run (default: the model's n_sup).
        ttc: optional test-time compute, strategies joined by '+': 'steps:n=32' (more steps),
        'noise:k=8,sigma=0.2' (8 noisy trajectories), 'smc:k=4,sigma=1,gate=agree' (a particle search,
        run only where a noisy probe disagrees with the plain answer), 'augment:k=8,select=vote'
        (8 symmetric copies, majority vote). More trajectories cost more calls, capped per request.

        Returns the answer as text and as a grid, whether it is valid by the task's rules (for a maze:
        a shortest path; for ARC only that it is a well-formed grid), the steps used, and halt_step, the
        first step at which the model's halting head was confident (null if never). With ttc also
        ttc: candidates that ran, the one chosen, network calls spent, searched (false: a gate kept the
        plain answer) and, for smc or noise with k > 1, particles: per step how many particles give the
        final answer, still run, were resampled away (smc), and their halting probabilities.
        """
        try:
            return solve_text(models, puzzle, model, steps, limits, ttc)
        except ServeError as e:
            raise tool_error(e.message) from None

    return server
