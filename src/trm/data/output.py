"""Where a dataset builder writes: the one overwrite policy of every ``trm data ...`` command (``--force``).

- :func:`check_output` runs before any slow work (a download, a generator): a folder that already holds a
  dataset (a ``train/`` or ``test/`` folder) is replaced only with ``force``; a file, or a non-empty
  folder that is not a dataset, is never replaced, even with ``force`` (we delete only what we built).
- :func:`building` gives the builder a fresh folder beside OUT and swaps it in only when the build is
  complete: a failed or interrupted build leaves the old dataset as it was, and never a half-written one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trm.errors import OutputExistsError

SPLIT_FOLDERS = ("train", "test")


def holds_dataset(out: Path) -> bool:
    """True when ``out`` is a folder with a ``train/`` or ``test/`` split folder."""
    return out.is_dir() and any((out / s).is_dir() for s in SPLIT_FOLDERS)


def check_output(out: str | Path, force: bool) -> None:
    """Raise :class:`OutputExistsError` unless ``out`` may be written (see the module docstring)."""
    out = Path(out)
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return
    if holds_dataset(out):
        if not force:
            raise OutputExistsError(
                "already holds a dataset; --force (force=True) replaces it", file=str(out)
            )
        return
    raise OutputExistsError(
        "exists and is not a dataset folder; refusing to replace it (choose another folder)", file=str(out)
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def building(out: str | Path, force: bool) -> Iterator[Path]:
    """A temporary folder beside ``out`` to write the dataset into; it becomes ``out`` on success."""
    out = Path(out)
    check_output(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 0700; a dataset folder gets normal permissions
    try:
        yield tmp
        check_output(out, force)  # again: something may have been written there meanwhile
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
