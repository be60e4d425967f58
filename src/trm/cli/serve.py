"""``trm serve`` (a web page and JSON API over checkpoints) and ``trm mcp`` (the same models as MCP tools)."""

from __future__ import annotations

from typing import Annotated

import typer

from trm.cli.checkpoint_args import ArchConfigOption, ArchOption, StepOption, load_options
from trm.cli.inference_args import DeviceOption as Device
from trm.cli.threads_arg import SolveThreadsOption

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

Checkpoints = Annotated[
    list[str],
    typer.Option(
        "--checkpoint", "-c", help="A checkpoint to serve (run dir, step dir, ...); repeat for several."
    ),
]


def _Limit(flag: str, help: str) -> type:  # noqa: N802 (used as a type annotation)
    """A positive int option; the defaults below are :class:`trm.serve.request_io.Limits`' (tested)."""
    return Annotated[int, typer.Option(flag, min=1, help=help)]


def serve(
    checkpoint: Checkpoints,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind. Anything but localhost is reachable by others.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 8000,
    device: Device = "auto",
    max_steps: _Limit("--max-steps", "Most steps one request may ask for (422 beyond).") = 64,
    max_pending: _Limit("--max-pending", "Solves waiting or running at once (429 beyond).") = 32,
    max_batch: _Limit("--max-batch", "Requests solved together in one batch.") = 32,
    max_body_kb: _Limit("--max-body-kb", "Largest request body in KiB (413 beyond).") = 1024,
    arch: ArchOption = None,
    arch_config: ArchConfigOption = None,
    step: StepOption = None,
    threads: SolveThreadsOption = "auto",
) -> None:
    """Serve a page to watch models refine their answers step by step, and a JSON API (/api, /docs)."""
    import uvicorn

    from trm.cli.threads_arg import fixed_threads
    from trm.serve.app import create_app
    from trm.serve.registry import load_models
    from trm.serve.request_io import Limits

    if host not in LOCAL_HOSTS:
        typer.secho(
            f"warning: binding to {host}: anyone who can reach this address can use the server "
            "(there is no authentication)",
            fg="yellow",
            err=True,
        )
    limits = Limits(
        max_body_bytes=max_body_kb * 1024, max_steps=max_steps, max_pending=max_pending, max_batch=max_batch
    )
    fixed_threads(threads)
    models = load_models(checkpoint, device=device, **load_options(arch, arch_config, step))
    for m in models.values():
        info = m.describe()
        typer.echo(
            f"model {info['name']}: {info['task']} {info['grid_shape']}, {info['parameters']:,} params"
        )
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"page at http://{shown}:{port}/  (API docs at /docs)")
    uvicorn.run(create_app(models, limits), host=host, port=port, log_level="info")


def mcp(
    checkpoint: Checkpoints,
    device: Device = "auto",
    arch: ArchOption = None,
    arch_config: ArchConfigOption = None,
    step: StepOption = None,
    threads: SolveThreadsOption = "auto",
) -> None:
    """Run a Model Context Protocol server on stdio with the tools solve_puzzle and list_models."""
    import contextlib
    import sys

    from trm.cli.threads_arg import fixed_threads
    from trm.serve.mcp_server import build_server
    from trm.serve.registry import load_models

    fixed_threads(threads)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the protocol: nothing else may print there
        models = load_models(checkpoint, device=device, **load_options(arch, arch_config, step))
    build_server(models).run("stdio")
