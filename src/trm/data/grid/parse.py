"""Read a user's grid examples: JSONL, CSV or a folder of ARC-style task files -> :class:`GridExample` list.

Accepted GRID forms (a grid is a rectangle of *symbols*, each symbol a string):

- a list of rows, each row a list of cells; a cell is an integer (its decimal text is the symbol, so
  ``[[0, 1], [1, 0]]`` has symbols "0" and "1") or a one-or-more-character string;
- a list of strings, one character a cell (``["..#", ".#."]``);
- one string, rows separated by newlines, one character a cell (``"..#\\n.#."``; one trailing newline is
  allowed, spaces are cells).

Sources:

- JSONL: one object a line, ``{"input": GRID, "output": GRID}`` with optional ``"split"`` ("train",
  "test" or "val", a validation example held out from training) and ``"id"`` (string or integer).
  Blank lines are skipped. Other keys are errors (a typo such as ``"spilt"`` must not silently change
  the split).
- CSV: a header with ``input`` and ``output`` columns and optional ``split`` and ``id``; cells hold the
  string form (a quoted field may span lines: its rows). Errors name the line the record starts on.
- A folder: every ``*.json`` below it (sorted; or one ``.json`` file) is an ARC-style task
  ``{"train": [pairs], "test": [pairs]}``; each pair with an output is an example, split "train" or
  "test" by its section; test pairs without an output are skipped and counted.

Every problem raises :class:`~trm.data.errors.InputError` naming file, line (and column for JSON syntax),
what is wrong and where in the grid: ragged rows, empty grids, cells of the wrong type, a grid larger than
``max_size``, a missing or unknown field, a bad split, a duplicate id.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trm.data.errors import InputError

SPLITS = ("train", "test")  # the sections of an ARC-style task file
EXAMPLE_SPLITS = ("train", "test", "val")  # what an example's "split" may say
FIELDS = ("input", "output", "split", "id")
DEFAULT_MAX_SIZE = 30

Cells = list[list[str]]  # rows of symbols


@dataclass
class GridExample:
    """One (input, output) pair as rows of symbols, with where it came from."""

    id: str
    input: Cells
    output: Cells
    split: str | None  # "train", "test", "val", or None: the seeded split decides
    file: str
    line: int | None = None


@dataclass
class SourceData:
    examples: list[GridExample]
    format: str  # "jsonl" | "csv" | "arc"
    skipped: int = 0  # ARC test pairs without an output


def _cell(value: Any, where: str, r: int, c: int, file: str | None, line: int | None) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InputError(
            f"{where}: row {r + 1}, cell {c + 1} is {json.dumps(value)}; a cell is an integer or a string",
            file=file,
            line=line,
        )
    text = str(value)
    if not text:
        raise InputError(f"{where}: row {r + 1}, cell {c + 1} is an empty string", file=file, line=line)
    return text


def parse_grid(value: Any, *, where: str, file: str | None, line: int | None = None, max_size: int) -> Cells:
    """One GRID value (any accepted form) -> rows of symbols; raise InputError naming the place."""
    if isinstance(value, str):
        text = value.replace("\r\n", "\n")
        text = text[:-1] if text.endswith("\n") else text
        value = text.split("\n")
    if not isinstance(value, list) or not value:
        kind = "an empty list" if value == [] else type(value).__name__
        raise InputError(
            f"{where}: a grid is a list of rows, a list of strings or one string with newlines; got {kind}",
            file=file,
            line=line,
        )
    rows: Cells = []
    for r, row in enumerate(value):
        if isinstance(row, str):
            rows.append(list(row))
        elif isinstance(row, list):
            rows.append([_cell(v, where, r, c, file, line) for c, v in enumerate(row)])
        else:
            raise InputError(
                f"{where}: row {r + 1} is {type(row).__name__}; rows are lists of cells or strings",
                file=file,
                line=line,
            )
        if not rows[-1]:
            raise InputError(f"{where}: row {r + 1} is empty", file=file, line=line)
    width = len(rows[0])
    for r, row in enumerate(rows):
        if len(row) != width:
            raise InputError(
                f"{where}: ragged rows: row {r + 1} has {len(row)} cells, row 1 has {width}",
                file=file,
                line=line,
            )
    if len(rows) > max_size or width > max_size:
        raise InputError(
            f"{where}: grid is {len(rows)}x{width}, larger than the limit {max_size}x{max_size} (--max-size)",
            file=file,
            line=line,
        )
    return rows


def _split(value: Any, file: str, line: int | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in EXAMPLE_SPLITS:
        raise InputError(
            f"split must be 'train', 'test' or 'val', got {json.dumps(value)}", file=file, line=line
        )
    return str(value)


def _example(obj: dict, *, default_id: str, file: str, line: int | None, max_size: int) -> GridExample:
    unknown = sorted(set(obj) - set(FIELDS))
    if unknown:
        raise InputError(
            f"unknown field(s) {unknown}; an example has input, output and optional split, id",
            file=file,
            line=line,
        )
    for key in ("input", "output"):
        if key not in obj:
            raise InputError(f"missing field {key!r}", file=file, line=line)
    ident = obj.get("id", default_id)
    if isinstance(ident, bool) or not isinstance(ident, str | int) or ident == "":
        raise InputError(
            f"id must be a non-empty string or an integer, got {json.dumps(ident)}", file=file, line=line
        )
    return GridExample(
        id=str(ident),
        input=parse_grid(obj["input"], where="input", file=file, line=line, max_size=max_size),
        output=parse_grid(obj["output"], where="output", file=file, line=line, max_size=max_size),
        split=_split(obj.get("split"), file, line),
        file=file,
        line=line,
    )


def read_jsonl(path: Path, *, max_size: int = DEFAULT_MAX_SIZE) -> list[GridExample]:
    file = str(path)
    out = []
    for lineno, raw in enumerate(_text(path).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InputError(f"invalid JSON: {e.msg}", file=file, line=lineno, column=e.colno) from None
        if not isinstance(obj, dict):
            raise InputError(
                f"a line must be a JSON object, got {type(obj).__name__}", file=file, line=lineno
            )
        out.append(_example(obj, default_id=f"line{lineno}", file=file, line=lineno, max_size=max_size))
    return out


def read_csv(path: Path, *, max_size: int = DEFAULT_MAX_SIZE) -> list[GridExample]:
    file = str(path)
    reader = csv.reader(io.StringIO(_text(path), newline=""))
    header = next(reader, None)
    if not header:
        raise InputError("empty file; expected a header with input,output[,split][,id]", file=file, line=1)
    header = [h.strip() for h in header]
    missing = [c for c in ("input", "output") if c not in header]
    unknown = [c for c in header if c not in FIELDS]
    if missing or unknown or len(set(header)) != len(header):
        raise InputError(
            f"header {header}: needs input and output columns, may add split and id, each once",
            file=file,
            line=1,
        )
    out = []
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader, None)
        except csv.Error as e:
            raise InputError(f"bad CSV: {e}", file=file, line=start) from None
        if fields is None:
            return out
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise InputError(f"{len(fields)} fields, the header has {len(header)}", file=file, line=start)
        obj = {k: v for k, v in zip(header, fields, strict=True) if not (k == "id" and v == "")}
        out.append(_example(obj, default_id=f"line{start}", file=file, line=start, max_size=max_size))


def read_arc_folder(folder: Path, *, max_size: int = DEFAULT_MAX_SIZE) -> tuple[list[GridExample], int]:
    """Every ``*.json`` task below ``folder`` (or the one task file ``folder``) -> (examples, skipped)."""
    files = [folder] if folder.is_file() else sorted(folder.rglob("*.json"))
    if not files:
        raise InputError("no *.json task files in this folder", file=str(folder))
    root = folder.parent if folder.is_file() else folder
    out, skipped = [], 0
    for path in files:
        file = str(path)
        try:
            task = json.loads(_text(path))
        except json.JSONDecodeError as e:
            raise InputError(f"invalid JSON: {e.msg}", file=file, line=e.lineno, column=e.colno) from None
        if not isinstance(task, dict) or not isinstance(task.get("train", []), list):
            raise InputError('an ARC task is {"train": [pairs], "test": [pairs]}', file=file)
        name = path.relative_to(root).with_suffix("").as_posix()
        for section in SPLITS:
            pairs = task.get(section, [])
            if not isinstance(pairs, list):
                raise InputError(f"{section!r} must be a list of pairs", file=file)
            for i, pair in enumerate(pairs):
                where = f"{section} pair {i + 1}"
                if not isinstance(pair, dict) or "input" not in pair:
                    raise InputError(f"{where}: a pair is an object with input and output", file=file)
                if "output" not in pair:
                    if section == "test":
                        skipped += 1
                        continue
                    raise InputError(f"{where}: missing field 'output'", file=file)
                out.append(
                    GridExample(
                        id=f"{name}/{section}/{i}",
                        input=parse_grid(pair["input"], where=f"{where} input", file=file, max_size=max_size),
                        output=parse_grid(
                            pair["output"], where=f"{where} output", file=file, max_size=max_size
                        ),
                        split=section,
                        file=file,
                    )
                )
    return out, skipped


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text ({e.reason})", file=str(path)) from None
    except FileNotFoundError:
        raise InputError("no such file", file=str(path)) from None


def read_source(source: str | Path, *, max_size: int = DEFAULT_MAX_SIZE) -> SourceData:
    """A JSONL file, a CSV file (by suffix) or a folder of ARC task files -> examples, ids checked unique."""
    path = Path(source)
    if max_size < 1:
        raise InputError(f"max_size must be positive, got {max_size}")
    if not path.exists():
        raise InputError("no such file or folder", file=str(path))
    skipped = 0
    if path.is_dir() or path.suffix.lower() == ".json":
        examples, skipped = read_arc_folder(path, max_size=max_size)
        fmt = "arc"
    elif path.suffix.lower() == ".csv":
        examples, fmt = read_csv(path, max_size=max_size), "csv"
    elif path.suffix.lower() in (".jsonl", ".ndjson") or not path.suffix:
        examples, fmt = read_jsonl(path, max_size=max_size), "jsonl"
    else:
        raise InputError(
            f"unknown source type {path.suffix!r}: use .jsonl, .csv, an ARC task .json or a folder",
            file=str(path),
        )
    if not examples:
        raise InputError("no examples", file=str(path))
    seen: dict[str, GridExample] = {}
    for ex in examples:
        if ex.id in seen:
            first = seen[ex.id]
            at = f"{first.file}:{first.line}" if first.line else first.file
            raise InputError(f"duplicate id {ex.id!r} (first at {at})", file=ex.file, line=ex.line)
        seen[ex.id] = ex
    return SourceData(examples=examples, format=fmt, skipped=skipped)
