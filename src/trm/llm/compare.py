"""``trm llm compare``: LLM alone, TRM alone and LLM + TRM tool in one table and one bar chart.

Design choices:

- **Three report kinds, read as they are.** A ``trm llm eval`` report (``"kind": "llm_eval"``), a
  ``trm eval --out`` report (``metrics`` plus ``checkpoint``) and a ``trm arc evaluate --report`` file
  (flat metrics, ``arc/pass@K`` after voting; its time per puzzle covers every variant voted on).
  Anything else is an error naming the file.
- **Same metric names on both sides**: ``exact_accuracy``, ``token_accuracy`` and the task's metrics
  (the LLM report lists them under ``task_metrics``).
- **Seconds per puzzle** is an LLM's mean latency of one conversation, and for TRM the evaluation's
  wall time over its examples. TRM's figure is batched throughput, not the latency of one puzzle; the
  table's note says so.
- **Parameters**: the LLM's from Ollama's ``/api/show`` (unknown for OpenAI-compatible servers), the tool's
  as counted by :func:`trm.models.cost.count_parameters`; a ``trm eval`` report does not store it, so the
  checkpoint it names is loaded (on the CPU) to count them, when it still exists.
- Reports of different tasks, or over different numbers of examples, are compared anyway with a warning:
  the user may have a reason, but should see it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trm.errors import InputError

BUILTIN = ("exact_accuracy", "token_accuracy")


@dataclass
class Entry:
    name: str
    kind: str  # "LLM", "TRM", "LLM + TRM tool"
    task: str
    metrics: dict[str, float]
    seconds_per_puzzle: float | None
    parameters: int | None
    tool_parameters: int | None = None
    task_metrics: list[str] = field(default_factory=list)
    source: str = ""


def _count_checkpoint_parameters(checkpoint: str) -> int | None:
    if not checkpoint or not Path(checkpoint).exists():
        return None
    from trm.checkpoints import load_any
    from trm.models.cost import count_parameters

    model, _, _ = load_any(checkpoint, device="cpu")
    return int(count_parameters(model))


def load_entry(path: str | Path) -> Entry:
    """One report file -> a table entry."""
    path = Path(path)
    try:
        report = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}:{e.colno}: not a JSON report ({e.msg})") from None
    if (
        isinstance(report, dict)
        and "metrics" not in report
        and any(str(k).startswith("arc/") for k in report)
    ):
        return _arc_voting_entry(path, report)
    if not isinstance(report, dict) or not isinstance(report.get("metrics"), dict):
        raise InputError(f"{path}: not a report of trm eval, trm arc evaluate or trm llm eval (no 'metrics')")
    m = report["metrics"]
    if report.get("kind") == "llm_eval":
        tool = report.get("with_tool")
        return Entry(
            name=str(report.get("model")) + (" + TRM tool" if tool else ""),
            kind="LLM + TRM tool" if tool else "LLM",
            task=str(report.get("task", "")),
            metrics=m,
            seconds_per_puzzle=m.get("mean_latency_s"),
            parameters=report.get("model_parameters"),
            tool_parameters=report.get("tool_parameters"),
            task_metrics=list(report.get("task_metrics") or []),
            source=str(path),
        )
    if "checkpoint" in report:
        n = m.get("num_examples") or 0
        params = report.get("parameters")
        if params is None:
            params = _count_checkpoint_parameters(str(report["checkpoint"]))
        return Entry(
            name=f"TRM {Path(str(report['checkpoint'])).name}",
            kind="TRM",
            task=str(report.get("task", "")),
            metrics=m,
            seconds_per_puzzle=m["seconds"] / n if n and "seconds" in m else None,
            parameters=params,
            source=str(path),
        )
    raise InputError(f"{path}: neither a trm llm eval report (kind 'llm_eval') nor a trm eval report")


def _arc_voting_entry(path: Path, report: dict[str, Any]) -> Entry:
    """A ``trm arc evaluate --report`` file: flat metrics, ARC's under ``arc/`` (pass@K after voting)."""
    from trm.data.arc.task import ArcTask

    arc = {
        k.removeprefix("arc/"): float(v)
        for k, v in report.items()
        if k.startswith("arc/") and "/" not in k[4:]
    }
    n = arc.get("num_test_inputs", 0.0)
    seconds = report.get("seconds")
    return Entry(
        name=f"TRM voting ({path.stem})",
        kind="TRM",
        task=ArcTask.name,
        metrics={**arc, "num_examples": n},  # exact_accuracy there is over every variant: not comparable
        seconds_per_puzzle=float(seconds) / n if seconds is not None and n else None,
        parameters=None,
        source=str(path),
    )


def warnings_for(entries: list[Entry]) -> list[str]:
    out = []
    tasks = sorted({e.task for e in entries})
    if len(tasks) > 1:
        out.append(f"the reports are of different tasks: {', '.join(tasks)}")
    counts = sorted({int(e.metrics.get("num_examples", 0)) for e in entries})
    if len(counts) > 1:
        out.append(f"the reports score different numbers of examples: {', '.join(map(str, counts))}")
    return out


def format_count(n: int | None) -> str:
    """7,000,000 -> '7.0M', 24e9 -> '24.0B'; None -> '?'."""
    if n is None:
        return "?"
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.1f}{suffix}"
    return str(n)


def columns(entries: list[Entry]) -> list[str]:
    """Metric columns: exact and token accuracy, then every task metric any LLM report lists."""
    extra: list[str] = []
    for e in entries:
        extra += [k for k in e.task_metrics if k not in extra and k not in BUILTIN]
    return [*BUILTIN, *extra]


def table_rows(entries: list[Entry]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the comparison, as text cells."""
    metric_cols = columns(entries)
    header = ["report", "kind", "examples", *metric_cols, "s / puzzle", "parameters"]
    rows = []
    for e in entries:
        cells = [e.name, e.kind, f"{int(e.metrics.get('num_examples', 0)):,}"]
        for k in metric_cols:
            v = e.metrics.get(k)
            cells.append("-" if v is None else f"{100 * v:.1f}%")
        s = e.seconds_per_puzzle
        cells.append("-" if s is None else f"{s:.3g}")
        params = format_count(e.parameters)
        if e.tool_parameters is not None:
            params += f" + {format_count(e.tool_parameters)}"
        cells.append(params)
        rows.append(cells)
    return header, rows


def markdown_table(entries: list[Entry]) -> str:
    header, rows = table_rows(entries)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def bar_chart(entries: list[Entry], path: str | Path) -> Path:
    """Accuracy bars (exact and the first task metric) and seconds per puzzle (log scale) into a PNG."""
    from trm.viz.render import new_figure, save_figure

    path = Path(path)
    names = [e.name for e in entries]
    metric_cols = columns(entries)[:1] + [c for c in columns(entries) if c not in BUILTIN][:1]
    fig, axes = new_figure(max(6.0, 1.6 * len(entries) + 2), 4.2, 1, 2)
    ax, ax_t = axes[0]
    width = 0.8 / len(metric_cols)
    for j, col in enumerate(metric_cols):
        values = [100 * e.metrics.get(col, 0.0) for e in entries]
        xs = [i + (j - (len(metric_cols) - 1) / 2) * width for i in range(len(entries))]
        bars = ax.bar(xs, values, width, label=col)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(entries)), names, rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("% of puzzles")
    ax.set_title("accuracy")
    ax.legend(fontsize=8)
    seconds = [e.seconds_per_puzzle for e in entries]
    known = [s if s is not None and s > 0 else math.nan for s in seconds]
    ax_t.bar(range(len(entries)), known, color="tab:gray")
    ax_t.set_xticks(range(len(entries)), names, rotation=20, ha="right", fontsize=8)
    if any(not math.isnan(s) for s in known):
        ax_t.set_yscale("log")
    ax_t.set_ylabel("seconds per puzzle")
    ax_t.set_title("time (TRM: batched)")
    fig.tight_layout()
    save_figure(fig, path)
    return path


def compare(paths: list[str | Path]) -> tuple[list[Entry], list[str]]:
    """Load every report; (entries, warnings)."""
    if not paths:
        raise InputError("give at least one report")
    entries = [load_entry(p) for p in paths]
    return entries, warnings_for(entries)
