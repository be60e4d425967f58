"""The metric log of a run, ``<out_dir>/metrics.jsonl``: its name, reading it, cutting it back on resume.

One JSON object per line: ``{"step", "epoch", "kind": "train"|"eval", <metric>: value, ...}``,
appended and flushed per record by the trainer (:mod:`trm.training.logging`), so a killed run keeps
what it logged. Readers (the trainer on resume, ``trm plot``, ``trm push``) skip a half-written last
line; any other line that is not a JSON object is an :class:`~trm.errors.InputError` naming it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trm.errors import InputError
from trm.files import atomic_write_text

METRICS_FILE = "metrics.jsonl"


def _records(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(line, record) of every complete line of the log at ``path``."""
    lines = path.read_text().splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            if i == last:
                break  # the half-written last line of a killed run
            raise InputError(f"not JSON: {e.msg}", file=str(path), line=i + 1, column=e.colno) from None
        if not isinstance(record, dict):
            raise InputError("a metrics record must be a JSON object", file=str(path), line=i + 1)
        records.append((line, record))
    return records


def read_log_file(path: str | Path) -> list[dict[str, Any]]:
    """The records of a metric log file of any name."""
    return [r for _, r in _records(Path(path))]


def read_metrics(out_dir: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The records of ``out_dir/metrics.jsonl`` (of one ``kind`` if given); none when there is no log."""
    path = Path(out_dir) / METRICS_FILE
    if not path.exists():
        return []
    return [r for _, r in _records(path) if kind is None or r.get("kind") == kind]


def truncate_metrics(out_dir: str | Path, step: int) -> None:
    """Keep only the records with ``step <= step`` (used on resume), rewriting the log atomically."""
    path = Path(out_dir) / METRICS_FILE
    if not path.exists():
        return
    kept = [line for line, record in _records(path) if record.get("step", 0) <= step]
    atomic_write_text(path, "".join(line + "\n" for line in kept))
