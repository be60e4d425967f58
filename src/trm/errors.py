"""The library's user-facing errors: what the ``trm`` command turns into one line and exit code 2.

Design choices:

- A small, closed set. Everything a user can cause by handing us a bad or mismatched file, puzzle or
  option is one of :data:`USER_ERRORS`; anything else is a bug and keeps its traceback.
- :class:`~trm.data.errors.InputError` (``file:line:column: problem``) is the base for bad input. Two
  refinements say more about what is wrong:

  - :class:`MismatchError`: well-formed input that does not fit the model or checkpoint it is given to
    (a 9x9 puzzle for a 6x6 model, a config whose shapes differ from the weights). The message names
    what the model takes.
  - :class:`MissingFileError`: a file or folder that should be there is not. It is also a
    ``FileNotFoundError``, so code that catches that keeps working.
- :class:`RunLockedError`: an ``out_dir`` another live run is writing (see :mod:`trm.training.run_lock`).
- :class:`~trm.config.ConfigError` stays in :mod:`trm.config`; :func:`user_errors` collects it lazily so
  importing this module costs nothing.
- Third-party parse errors (numpy, safetensors, json, yaml) are wrapped where the file is opened, so the
  message can name the file; the CLI never guesses a file name from a foreign exception.
"""

from __future__ import annotations

from trm.data.errors import InputError

__all__ = ["InputError", "MismatchError", "MissingFileError", "RunLockedError", "one_line", "user_errors"]


class MismatchError(InputError):
    """Valid input that does not fit the model or checkpoint it was given to; names what would fit."""


class MissingFileError(InputError, FileNotFoundError):
    """A file or folder we need is absent (``file`` names it)."""


class RunLockedError(RuntimeError):
    """Another live process holds the lock of this ``out_dir``."""


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception classes the CLI reports as one line with exit code 2: ours, and a path that is
    missing, unreadable or of the wrong kind (their message names it)."""
    from trm.config import ConfigError

    paths = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
    return (InputError, ConfigError, RunLockedError, *paths)


def one_line(error: BaseException) -> str:
    """The error's message on one line (a config error lists its keys on several lines: joined by ``;``)."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return lines[0] + (": " + "; ".join(lines[1:]) if len(lines) > 1 else "")
