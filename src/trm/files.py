"""Files on disk, for every package: atomic writes, text and JSON reads whose errors name the file, and
the record of a file's size and checksum that datasets and checkpoints keep.

Design choices:

- A write goes to a temporary file beside its target, is fsynced, and is renamed over the target: a
  reader (or a crash) never sees a half-written file.
- Bad bytes are a :class:`~trm.errors.InputError` naming the file (and the line and column of bad
  JSON), never a bare ``UnicodeDecodeError`` or ``JSONDecodeError``.
- One file record, ``{"bytes": size, "sha256": hex}``: ``metadata.json`` of a dataset split and
  ``meta.json`` of a checkpoint both hold ``files: {name: record}``. Checkpoints written before this
  format recorded ``{"size", "sha256"}``; :func:`recorded_bytes` reads both.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from trm.errors import InputError

_CHUNK = 1 << 20


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync, give it normal permissions (mkstemp makes
    it 0600) and rename it over ``path``; on failure remove it. Readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader never sees a half-written file."""
    with atomic_file(path, "w") as f:
        f.write(text)


def read_text(path: str | Path) -> str:
    """A UTF-8 text file; bytes that are not UTF-8 are an InputError naming the file and the byte."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text ({e.reason} at byte {e.start})", file=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a text file", file=str(path)) from None


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; bad UTF-8 or JSON is an InputError at ``file:line:column``."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg}", file=str(path), line=e.lineno, column=e.colno) from None


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def file_records(folder: str | Path, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{name: {"bytes": size, "sha256": hex}}`` for the named files of ``folder``, read back from disk."""
    folder = Path(folder)
    return {n: {"bytes": (folder / n).stat().st_size, "sha256": sha256_file(folder / n)} for n in names}


def recorded_bytes(record: dict[str, Any]) -> int | None:
    """The size a file record holds: ``bytes``, or ``size`` in checkpoints written before; None if neither."""
    size = record.get("bytes", record.get("size"))
    return size if isinstance(size, int) else None
