"""``trm llm eval`` and ``trm llm compare``: an LLM on the same puzzles, alone or with a tiny model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

llm_app = typer.Typer(
    help="Compare with an LLM (Ollama or an OpenAI-compatible server) on the same puzzles.",
    no_args_is_help=True,
)


@llm_app.command("eval")
def llm_eval(
    data: Annotated[Path, typer.Option("--data", help="Dataset folder (trm's format).")],
    model: Annotated[str, typer.Option("--model", help="Model name on the server, e.g. mistral-small3.2.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="JSON report; its journal is written beside it (.jsonl).")
    ],
    split: Annotated[str, typer.Option("--split", help="Split whose puzzles are asked.")] = "test",
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N puzzles (ARC: tasks).")
    ] = None,
    host: Annotated[
        str,
        typer.Option("--host", help="Server base URL (for --api openai: up to and including /v1)."),
    ] = "http://127.0.0.1:11434",
    api: Annotated[str, typer.Option("--api", help="ollama (Ollama's /api/chat) or openai.")] = "ollama",
    with_tool: Annotated[
        Path | None,
        typer.Option("--with-tool", help="Checkpoint of a tiny model, offered to the LLM as solve_puzzle."),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Requests in flight.")] = 2,
    timeout: Annotated[float, typer.Option("--timeout", min=0.001, help="Seconds per request.")] = 600.0,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Retries of a failed request.")] = 2,
    max_tool_rounds: Annotated[
        int, typer.Option("--max-tool-rounds", min=1, help="Tool-calling rounds per puzzle.")
    ] = 3,
    temperature: Annotated[float, typer.Option("--temperature", help="Sampling temperature.")] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed sent to the server.")] = 0,
    num_ctx: Annotated[
        int | None,
        typer.Option("--num-ctx", min=256, help="Ollama's context window in tokens (default: the server's)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the journal of an interrupted run.")
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Ask an LLM every puzzle of a split and score the answers with trm eval's metrics."""
    from rich.console import Console

    from trm.llm.run import EvalSettings, evaluate_llm

    console = Console()
    settings = EvalSettings(
        data=str(data),
        model=model,
        out=str(out),
        split=split,
        limit=limit,
        api=api,
        host=host,
        with_tool=str(with_tool) if with_tool else None,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        max_tool_rounds=max_tool_rounds,
        temperature=temperature,
        seed=seed,
        num_ctx=num_ctx,
        resume=resume,
    )
    report = evaluate_llm(settings, progress=progress)
    _print_metrics(console, report)
    console.print(f"report written to {out} (journal {report['journal']})")


def _print_metrics(console, report: dict) -> None:
    from rich.table import Table

    table = Table(title=f"{report['model']} on {report['task']} ({report['split']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report["metrics"].items():
        fraction = any(part in name for part in ("accuracy", "pass@", "_rate")) or name.startswith(
            ("valid", "answer_is", "grid_exact")
        )
        table.add_row(name, f"{100 * value:.2f}%" if fraction else f"{value:,.3g}")
    console.print(table)
    for note in report["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")


@llm_app.command("prompt")
def llm_prompt(
    data: Annotated[Path, typer.Option("--data", help="Dataset folder (trm's format).")],
    split: Annotated[str, typer.Option("--split", help="Split of the puzzle.")] = "test",
    index: Annotated[int, typer.Option("--index", min=0, help="Example index in the split.")] = 0,
    with_tool: Annotated[
        bool, typer.Option("--with-tool", help="The prompt as --with-tool sends it (tool paragraph added).")
    ] = False,
) -> None:
    """Print the chat messages trm llm eval sends for one puzzle."""
    from trm.data.format import open_split
    from trm.data.tasks import get_task
    from trm.llm.formats import grid_format
    from trm.llm.prompts import messages_for
    from trm.llm.run import question_of

    ds = open_split(data, split)
    fmt = grid_format(ds.metadata.task, tuple(ds.metadata.grid_shape))
    question = question_of(ds, get_task(ds.metadata.task, ds.metadata), index)
    for message in messages_for(fmt, question, with_tool=with_tool):
        typer.echo(f"[{message['role']}]\n{message['content']}\n")


@llm_app.command("compare")
def llm_compare(
    reports: Annotated[list[Path], typer.Argument(help="Reports of trm llm eval and trm eval --out.")],
    png: Annotated[Path | None, typer.Option("--png", help="Draw a bar chart into this PNG.")] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Write the table as Markdown into this file.")
    ] = None,
) -> None:
    """One table of accuracy, seconds per puzzle and parameters: LLM, TRM, LLM + TRM tool."""
    from rich.console import Console
    from rich.table import Table

    from trm.files import atomic_write_text
    from trm.llm.compare import bar_chart, compare, markdown_table, table_rows

    console = Console()
    entries, warnings = compare(list(reports))
    header, rows = table_rows(entries)
    needed = sum(3 + max(len(c) for c in column) for column in zip(header, *rows, strict=True)) + 1
    console = Console(width=max(console.width, needed))  # never cut a metric name to fit a narrow terminal
    table = Table(title="LLM vs TRM")
    for col in header:
        table.add_column(col, justify="left" if col in ("report", "kind") else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(
        "s / puzzle: an LLM's mean latency per conversation; TRM's batched evaluation time per puzzle"
    )
    for w in warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    if markdown is not None:
        atomic_write_text(markdown, markdown_table(entries))
        console.print(f"table written to {markdown}")
    if png is not None:
        bar_chart(entries, png)
        console.print(f"chart written to {png}")
