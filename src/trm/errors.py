"""The library's user-facing errors: what the ``trm`` command turns into one line and exit code 2.

Design choices:

- A small, closed set. Everything a user can cause by handing us a bad or mismatched file, puzzle or
  option is one of :data:`USER_ERRORS`; anything else is a bug and keeps its traceback.
- :class:`InputError` (``file:line:column: problem``) is the base for bad input and bad options.
  Three refinements say more about what is wrong:

  - :class:`MismatchError`: well-formed input that does not fit the model or checkpoint it is given to
    (a 9x9 puzzle for a 6x6 model, a config whose shapes differ from the weights). The message names
    what the model takes.
  - :class:`MissingFileError`: a file or folder that should be there is not. It is also a
    ``FileNotFoundError``, so code that catches that keeps working.
  - :class:`OutputExistsError`: an output folder already holds what a command would replace (every
    dataset builder refuses unless ``force``/``--force``). Also a ``FileExistsError``.
- :class:`ConfigError`: a recipe or override that does not fit the schema (raised by :mod:`trm.config`).
- :class:`RunLockedError`: an ``out_dir`` another live run is writing (see :mod:`trm.training.run_lock`).
- :class:`StoppedError`: a run that an outside service stopped (an LLM server that is down or refuses
  the model); what was finished is kept, and the message says how to go on.
- This module imports nothing from the package, so every package can import it.
- Third-party parse errors (numpy, safetensors, json, yaml) are wrapped where the file is opened, so the
  message can name the file; the CLI never guesses a file name from a foreign exception.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "InputError",
    "MismatchError",
    "MissingFileError",
    "OutputExistsError",
    "RunLockedError",
    "StoppedError",
    "one_line",
    "user_errors",
]


class InputError(ValueError):
    """Bad input: a puzzle, maze, task, file or option. ``str()`` reads ``file:line:col: message``."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, column: int | None = None
    ):
        self.message, self.file, self.line, self.column = message, file, line, column
        place = ":".join(str(p) for p in (file, line, column) if p is not None)
        super().__init__(f"{place}: {message}" if place else message)

    def in_file(self, file: str) -> InputError:
        """The same error placed in ``file`` (for a parser that read text without knowing its file)."""
        return type(self)(self.message, file=file, line=self.line, column=self.column)


class MismatchError(InputError):
    """Valid input that does not fit the model or checkpoint it was given to; names what would fit."""


class MissingFileError(InputError, FileNotFoundError):
    """A file or folder we need is absent (``file`` names it)."""


class OutputExistsError(InputError, FileExistsError):
    """The output folder (``file``) already holds a result; ``force`` replaces it."""


class ConfigError(ValueError):
    """A recipe or override that does not fit the schema; the message names the key."""


class StoppedError(RuntimeError):
    """A run stopped by an outside service; finished work is kept and the message says how to resume."""


class RunLockedError(RuntimeError):
    """Another live process holds the lock of this ``out_dir``."""


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception classes the CLI reports as one line with exit code 2: ours, and a path that is
    missing, unreadable or of the wrong kind (their message names it)."""
    paths = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
    return (InputError, ConfigError, RunLockedError, StoppedError, *paths)


def one_line(error: BaseException) -> str:
    """The error's message on one line (a config error lists its keys on several lines: joined by ``;``)."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return lines[0] + (": " + "; ".join(lines[1:]) if len(lines) > 1 else "")
