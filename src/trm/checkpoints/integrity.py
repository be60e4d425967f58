"""Checksums of checkpoint files: what ``meta.json`` records and what loading verifies.

``meta.json`` of every step dir holds ``"files": {name: {"bytes": size, "sha256": hex}}`` (the record
format of :mod:`trm.files`, shared with datasets) for each file the save wrote (the weights,
``state.pt``, ``config.yaml``; not ``meta.json`` itself); checkpoints written before recorded
``{"size", "sha256"}`` and still verify. Design choices:

- The digest is computed by reading the finished file back (it is in the page cache right after the
  write), so it describes the bytes on disk, not the bytes we meant to write.
- Verification checks the size first (free) and then the SHA-256 (about 1 GB/s), and stops at the
  first bad file with a :class:`CheckpointError` naming it. ``names`` limits the check to the files a
  caller is about to read (inference never reads ``state.pt``).
- A checkpoint written before checksums existed has no ``files`` entry: it loads unverified.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from trm.checkpoints.errors import CheckpointError
from trm.files import file_records, recorded_bytes, sha256_file

__all__ = ["file_records", "verify_files"]


def verify_files(folder: str | Path, records: dict[str, dict], names: Iterable[str] | None = None) -> None:
    """Raise :class:`CheckpointError` for the first recorded file that is missing or differs."""
    folder = Path(folder)
    wanted = records if names is None else {n: records[n] for n in names if n in records}
    for name, rec in wanted.items():
        path = folder / name
        if not path.is_file():
            raise CheckpointError("missing (meta.json records it)", file=str(path))
        size, recorded = path.stat().st_size, recorded_bytes(rec)
        if size != recorded:
            raise CheckpointError(
                f"damaged: {size} bytes, meta.json records {recorded} (truncated or overwritten?)",
                file=str(path),
            )
        if sha256_file(path) != rec["sha256"]:
            raise CheckpointError(
                "damaged: SHA-256 differs from the one meta.json records (use --no-verify to load it anyway)",
                file=str(path),
            )
