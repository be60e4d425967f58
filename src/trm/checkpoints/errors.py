"""The one error type for checkpoints that cannot be used: missing, damaged, unsafe or mismatched.

It is an :class:`trm.data.errors.InputError`, so the command line prints it as one line (exit 2)
instead of a traceback; the message always names the file (``file: problem``).
"""

from __future__ import annotations

from trm.data.errors import InputError


class CheckpointError(InputError):
    """A checkpoint file that cannot be loaded; ``str()`` reads ``<file>: <problem>``."""


class MissingCheckpointError(CheckpointError, FileNotFoundError):
    """No checkpoint where one was expected (also a ``FileNotFoundError`` for code that catches that)."""
