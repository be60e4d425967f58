"""``trm push``: publish a run's checkpoint on the Hugging Face hub (safetensors, config, model card)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def push(
    run: Annotated[Path, typer.Argument(help="Run dir, its checkpoints/ dir, or one step dir.")],
    repo: Annotated[
        str, typer.Option("--repo", help="owner/name on the hub (created if it does not exist).")
    ],
    private: Annotated[bool, typer.Option(help="Create the repository as private.")] = False,
    report: Annotated[
        Path | None, typer.Option(help="A `trm eval --out` JSON report to quote in the model card.")
    ] = None,
    message: Annotated[str | None, typer.Option(help="Commit message.")] = None,
) -> None:
    """Upload the checkpoint's weights, config and a model card in one commit; hf://REPO then loads it."""
    from trm.checkpoints.publish import push as push_run
    from trm.files import read_json

    eval_report = None if report is None else read_json(report)  # bad JSON: file:line:column, exit 2
    url = push_run(run, repo, private=private, eval_report=eval_report, commit_message=message)
    typer.echo(f"pushed {run} to {url}\nload it with: --checkpoint hf://{repo}")
