"""One training run per ``out_dir``: a lock file ``out_dir/.lock`` naming the process that holds it.

Design choices:

- The exclusion is an advisory ``flock`` on the lock file (POSIX), which the kernel drops when the holder
  dies however it dies (``kill -9`` included). So "is the lock stale?" needs no guess from pids: a lock
  file nobody holds is stale. Two runs racing for a stale lock cannot both win.
- The file's content says who holds it: ``{"pid", "host", "started", "argv"}``, written after the lock is
  taken. A refused run names that process; a run that takes over a stale lock says whose it was.
- Where ``fcntl`` is missing the content alone decides: a lock of a dead pid on this host is stale; one
  we cannot check (another host, or Windows, where probing a pid would signal it) is refused, naming the
  file to delete if that run is gone.
- Only the main rank of a multi-process run locks (the other ranks never write ``out_dir``).
- The lock is released (and the file removed) on exit from the ``with`` block, also on an exception; an
  ``out_dir`` the lock created and nothing else filled is removed again.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO, Any

from trm.errors import RunLockedError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


def _pid_alive(pid: int) -> bool | None:
    """Whether process ``pid`` of this host exists; None where we cannot tell safely (Windows, where
    ``os.kill(pid, 0)`` would send CTRL_C_EVENT instead of probing)."""
    if os.name == "nt":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _describe(info: dict[str, Any]) -> str:
    started = info.get("started")
    when = f", started {started}" if started else ""
    return f"pid {info.get('pid', '?')} on host {info.get('host', '?')}{when}"


class RunLock:
    """``with RunLock(out_dir): ...`` holds ``out_dir/.lock`` or raises :class:`RunLockedError`.

    ``took_over`` is the holder description of a stale lock that was replaced (None when there was none);
    ``say`` receives the one-line notice about it (default: stderr).
    """

    def __init__(self, out_dir: str | Path, *, enabled: bool = True, say=None) -> None:
        self.path = Path(out_dir) / LOCK_FILE
        self.enabled = enabled
        self.took_over: str | None = None
        self._say = say or (lambda msg: print(msg, file=sys.stderr))
        self._file: IO[str] | None = None
        self._created_dir = False

    def _read(self) -> dict[str, Any]:
        try:
            info = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def acquire(self) -> RunLock:
        if not self.enabled:
            return self
        self._created_dir = not self.path.parent.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = self._open_locked()
        previous = self._read()
        if previous and fcntl is None:
            self._refuse_live_without_flock(previous, f)
        if previous.get("pid") not in (None, os.getpid()) or previous.get("host") not in (
            None,
            socket.gethostname(),
        ):
            self.took_over = _describe(previous)
            self._say(f"{self.path}: taking over the stale lock of {self.took_over} (that run is gone)")
        f.seek(0)
        f.truncate()
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "argv": sys.argv,
        }
        f.write(json.dumps(record) + "\n")
        f.flush()
        self._file = f
        return self

    def _open_locked(self) -> IO[str]:
        """Open the lock file and flock it; retry when the holder removed the file meanwhile (we would
        otherwise hold a lock on a deleted file while a third run locks the new one)."""
        while True:
            f = open(self.path, "a+")  # noqa: SIM115 (held open: it is the lock); "a+" keeps the record
            if fcntl is None:
                return f
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _describe(self._read())
                f.close()
                raise RunLockedError(
                    f"{self.path.parent} is in use by another training run ({holder}); wait for it, "
                    "stop it, or choose another out_dir"
                ) from None
            try:
                if os.stat(self.path).st_ino == os.fstat(f.fileno()).st_ino:
                    return f
            except FileNotFoundError:
                pass
            f.close()

    def _refuse_live_without_flock(self, previous: dict[str, Any], f: IO[str]) -> None:
        pid, host = previous.get("pid"), previous.get("host")
        same_host = host == socket.gethostname()
        alive = _pid_alive(pid) if same_host and isinstance(pid, int) else None
        if isinstance(pid, int) and pid != os.getpid() and alive is not False:
            f.close()
            hint = "" if alive else f"; if that run is gone, delete {self.path}"
            raise RunLockedError(f"{self.path.parent} is in use by {_describe(previous)}{hint}")

    def release(self) -> None:
        if self._file is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still holding it: nobody reads a half-removed lock
        finally:
            self._file.close()  # drops the flock
            self._file = None
        if self._created_dir and not any(self.path.parent.iterdir()):
            self.path.parent.rmdir()  # a run that failed before writing anything leaves no empty out_dir

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
