"""Verify a dataset on disk: every file's size and SHA-256 against ``metadata.json``, then every array.

Design choices:

- Report, do not stop at the first problem: :func:`verify_split` returns one :class:`FileCheck` per array
  file and a list of problems, so ``trm data verify`` can show everything that is wrong at once.
- The checks that opening a split always runs (sizes, shapes, index ends; :func:`trm.data.format.open_split`)
  are cheap; this module adds what needs a full read: the checksums and
  :func:`~trm.data.format.validate_arrays` (every token inside the vocabulary, indices increasing,
  identifiers inside the embedding).
- A split without recorded checksums (the reference builders' layout, or a dataset written before they
  were recorded) is still checked for structure; its files are reported as "not recorded".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trm.data.format import (
    ARRAYS,
    METADATA_FILE,
    REFERENCE_METADATA_FILE,
    DatasetMetadata,
    open_split,
    validate_arrays,
)
from trm.errors import InputError
from trm.files import read_json, recorded_bytes, sha256_file


@dataclass
class FileCheck:
    name: str  # e.g. "inputs.npy"
    status: str  # "ok", "missing", "size differs", "checksum differs", "not recorded"
    size: int | None = None  # bytes on disk
    recorded_size: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "not recorded")


@dataclass
class SplitReport:
    path: Path
    files: list[FileCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each; empty when the split is sound
    num_examples: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_file(path: Path, record: dict | None) -> FileCheck:
    recorded = recorded_bytes(record or {})
    if not path.exists():
        return FileCheck(path.name, "missing", recorded_size=recorded)
    size = path.stat().st_size
    if not record:
        return FileCheck(path.name, "not recorded", size)
    if size != recorded:
        return FileCheck(path.name, "size differs", size, recorded)
    status = "ok" if sha256_file(path) == record.get("sha256") else "checksum differs"
    return FileCheck(path.name, status, size, recorded)


def verify_split(path: str | Path) -> SplitReport:
    """Check one split folder completely; never raises for a damaged split (the report says what is wrong)."""
    path = Path(path)
    report = SplitReport(path)
    reference = not (path / METADATA_FILE).exists() and (path / REFERENCE_METADATA_FILE).exists()
    records: dict = {}
    if not reference:
        try:
            meta = DatasetMetadata.from_dict(read_json(path / METADATA_FILE), where=str(path / METADATA_FILE))
            records = meta.files
        except (InputError, FileNotFoundError) as e:
            report.problems.append(str(e))
            return report
    prefix = "all__" if reference else ""
    for name in ARRAYS:
        check = _check_file(path / f"{prefix}{name}.npy", records.get(f"{name}.npy"))
        report.files.append(check)
        if not check.ok:
            sizes = check.status == "size differs" and check.recorded_size is not None
            detail = f" ({check.size:,} bytes, recorded {check.recorded_size:,})" if sizes else ""
            report.problems.append(f"{path / check.name}: {check.status}{detail}")
    if report.problems:
        return report  # the arrays themselves cannot be trusted
    try:
        split = open_split(path.parent, path.name, check=True)
        report.num_examples = split.num_examples
        arrays = {name: getattr(split, name) for name in ARRAYS}
        validate_arrays(**arrays, metadata=split.metadata, where=str(path))
    except InputError as e:
        report.problems.append(str(e))
    return report


def split_dirs(path: str | Path) -> list[Path]:
    """``path`` itself when it is a split, else its sub-folders that are splits (sorted)."""
    path = Path(path)
    if not path.is_dir():
        from trm.errors import MissingFileError

        raise MissingFileError("no such dataset folder", file=str(path))

    def is_split(p: Path) -> bool:
        return (p / METADATA_FILE).exists() or (p / REFERENCE_METADATA_FILE).exists()

    if is_split(path):
        return [path]
    found = sorted(p for p in path.iterdir() if p.is_dir() and is_split(p))
    if not found:
        raise InputError(f"no dataset splits here (folders holding {METADATA_FILE})", file=str(path))
    return found


def verify_dataset(path: str | Path) -> list[SplitReport]:
    """Verify a split folder, or every split of a dataset folder."""
    return [verify_split(p) for p in split_dirs(path)]
