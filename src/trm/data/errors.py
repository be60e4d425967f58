"""``InputError`` lives in :mod:`trm.errors` (every package's user errors); this keeps old imports working."""

from __future__ import annotations

from trm.errors import InputError

__all__ = ["InputError"]
