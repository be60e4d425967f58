"""One error type for bad input files, naming the place: ``file:line:column: problem``."""

from __future__ import annotations


class InputError(ValueError):
    """Bad puzzle, maze or task input. ``str()`` reads ``file:line:col: message`` (parts known)."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, column: int | None = None
    ):
        self.message, self.file, self.line, self.column = message, file, line, column
        place = ":".join(str(p) for p in (file, line, column) if p is not None)
        super().__init__(f"{place}: {message}" if place else message)

    def in_file(self, file: str) -> InputError:
        """The same error placed in ``file`` (for a parser that read text without knowing its file)."""
        return type(self)(self.message, file=file, line=self.line, column=self.column)
