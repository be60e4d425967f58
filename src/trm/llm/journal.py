"""The run's journal (JSONL, appended after every puzzle) and its JSON report (written atomically).

Design choices:

- **Nothing finished is lost.** ``report.json`` has a journal beside it, ``report.jsonl``: a header line
  (what was asked: data, split, task, model, API, tool, prompt version, decoding) then one line per
  finished puzzle, flushed and fsynced before the next is recorded. A run killed at any moment loses at
  most the puzzles in flight. The JSON report (metrics, settings, every record) is rewritten atomically
  at the end, and also when a run stops early (``complete: false``).
- **Resume** reads the journal back. A torn last line (the process died mid-write) is cut off; a bad
  line anywhere else is an error naming the file and line. The header must match the new run on every
  setting that changes the answers (``RESUME_KEYS``); ``--limit`` and ``--host`` may change. A later
  record of an example replaces an earlier one, so puzzles whose request failed are simply asked again.
- Without ``--resume`` an existing journal is an error: two runs never mix silently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from trm.errors import InputError, OutputExistsError
from trm.files import atomic_write_text

RESUME_KEYS = (
    "task",
    "data",
    "split",
    "api",
    "model",
    "with_tool",
    "prompt_version",
    "temperature",
    "seed",
    "num_ctx",
)


def journal_path(out: str | Path) -> Path:
    """``report.json`` -> ``report.jsonl``; any other name gets ``.jsonl`` appended."""
    out = Path(out)
    return out.with_suffix(".jsonl") if out.suffix == ".json" else out.with_name(out.name + ".jsonl")


def read_journal(path: str | Path) -> tuple[dict[str, Any], dict[int, dict[str, Any]], list[str]]:
    """(header, records by example index, notes) of a journal."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header: dict[str, Any] | None = None
    records: dict[int, dict[str, Any]] = {}
    notes: list[str] = []
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as e:
            if number == len(lines):  # torn by an interrupted write
                notes.append(f"{path}:{number}: dropped an incomplete last line")
                break
            raise InputError(f"{path}:{number}:{e.colno}: not a JSON line ({e.msg})") from None
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if number == 1:
            if kind != "header":
                raise InputError(f"{path}:1: the first line must be the run's header")
            header = entry
        elif kind == "puzzle" and isinstance(entry.get("index"), int):
            records[entry["index"]] = entry
        else:
            raise InputError(f"{path}:{number}: expected a puzzle record with an integer 'index'")
    if header is None:
        raise InputError(f"{path}: empty journal")
    return header, records, notes


def check_resumable(old: dict[str, Any], new: dict[str, Any], where: str | Path) -> None:
    """Refuse to continue a journal written with other settings (naming each difference)."""
    diffs = [f"{k}: {old.get(k)!r} then, {new.get(k)!r} now" for k in RESUME_KEYS if old.get(k) != new.get(k)]
    if diffs:
        raise InputError(f"{where}: cannot resume a run with other settings ({'; '.join(diffs)})")


class Journal:
    """Append-only writer of one run's journal."""

    def __init__(self, path: str | Path, header: dict[str, Any], *, resume: bool) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists and not resume:
            raise OutputExistsError(
                "exists (an earlier run); pass --resume to continue it, or delete it", file=str(self.path)
            )
        if exists:
            _drop_torn_tail(self.path)
        self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())
        if not exists:
            self._write({"kind": "header", **header})

    def _write(self, entry: dict[str, Any]) -> None:
        self._f.write(json.dumps(entry, allow_nan=False) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def append(self, record: dict[str, Any]) -> None:
        self._write({"kind": "puzzle", **record})

    def close(self) -> None:
        self._f.close()


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line that has no newline (a write torn by a crash), so new records start cleanly."""
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep < len(data):
        with open(path, "r+b") as f:
            f.truncate(keep)


def write_report(out: str | Path, report: dict[str, Any]) -> None:
    atomic_write_text(out, json.dumps(report, indent=2, allow_nan=False) + "\n")
