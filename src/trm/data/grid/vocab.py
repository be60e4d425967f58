"""The vocabulary of a grid task: its symbols <-> symbol indices <-> tokens, and grids as text.

Design choices:

- Tokens follow ARC's layout (:mod:`trm.data.arc.encode`): PAD 0, EOS 1 (the border after a grid smaller
  than the canvas), symbol i -> token i + 2. So the EOS-border canvas code is shared, and
  ``vocab_size = len(symbols) + 2``. Inside the library a grid is uint8 [rows, cols] of symbol *indices*.
- Order: symbols are sorted numerically when every one is an integer ("0", "1", ... "10"), otherwise as
  strings, so the same data gives the same tokens whatever its order; a vocabulary given by the user keeps
  the user's order. At most 254 symbols (tokens fit uint8).
- The vocabulary is stored in the dataset metadata (``build["vocabulary"]``, see :meth:`to_json`), which is
  how the solver and the pictures get the task's own symbols back.
- Text: one character a cell when every symbol is one character, otherwise cells separated by spaces, so
  :meth:`format` and :meth:`parse_text` are inverses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trm.data.arc.encode import COLOUR_OFFSET, EOS, PAD
from trm.data.errors import InputError

MAX_SYMBOLS = 255 - COLOUR_OFFSET + 1  # tokens 2..255 fit uint8


def _is_int(symbol: str) -> bool:
    try:
        return str(int(symbol)) == symbol
    except ValueError:
        return False


@dataclass(frozen=True)
class Vocabulary:
    symbols: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ValueError("a vocabulary needs at least one symbol")
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError(f"the vocabulary repeats a symbol: {list(self.symbols)}")
        if len(self.symbols) > MAX_SYMBOLS:
            raise ValueError(f"{len(self.symbols)} symbols; at most {MAX_SYMBOLS} are supported")
        bad = [s for s in self.symbols if not isinstance(s, str) or not s or "\n" in s]
        if not bad and not all(len(s) == 1 for s in self.symbols):  # text cells are then split by spaces
            bad = [s for s in self.symbols if any(ch.isspace() for ch in s)]
        if bad:
            raise ValueError(
                f"bad symbols {bad}: symbols are non-empty strings without newlines, and without spaces "
                "when any symbol is longer than one character"
            )

    # -- building -------------------------------------------------------------------------------------------
    @classmethod
    def infer(cls, grids: Iterable[Sequence[Sequence[str]]]) -> Vocabulary:
        seen: set[str] = set()
        for grid in grids:
            for row in grid:
                seen.update(row)
        key = (lambda s: int(s)) if seen and all(_is_int(s) for s in seen) else None
        return cls(tuple(sorted(seen, key=key)))

    @classmethod
    def from_json(cls, obj: Any) -> Vocabulary:
        if not isinstance(obj, dict) or not isinstance(obj.get("symbols"), list):
            raise ValueError(f"a stored vocabulary is {{'symbols': [...]}}, got {obj!r}")
        if (
            obj.get("pad", PAD) != PAD
            or obj.get("eos", EOS) != EOS
            or obj.get("first", COLOUR_OFFSET) != COLOUR_OFFSET
        ):
            raise ValueError(
                f"unsupported token layout {obj}; expected pad {PAD}, eos {EOS}, first {COLOUR_OFFSET}"
            )
        return cls(tuple(obj["symbols"]))

    def to_json(self) -> dict[str, Any]:
        """Stored in metadata: symbol i is token ``first + i``; PAD and EOS are not symbols."""
        return {"symbols": list(self.symbols), "pad": PAD, "eos": EOS, "first": COLOUR_OFFSET}

    # -- mapping --------------------------------------------------------------------------------------------
    @property
    def integers(self) -> bool:
        """Every symbol is an integer's decimal text (the grids were rows of integers)."""
        return all(_is_int(s) for s in self.symbols)

    @property
    def size(self) -> int:
        return len(self.symbols)

    @property
    def vocab_size(self) -> int:
        """Tokens 0..vocab_size-1: PAD, EOS, then the symbols."""
        return len(self.symbols) + COLOUR_OFFSET

    @property
    def index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.symbols)}

    def token(self, symbol: str) -> int:
        return self.index[symbol] + COLOUR_OFFSET

    def indices(self, cells: Sequence[Sequence[str]], *, where: str = "grid", file: str | None = None,
                line: int | None = None) -> np.ndarray:  # fmt: skip
        """Rows of symbols -> uint8 [rows, cols] of indices; an unknown symbol is an InputError naming it."""
        index = self.index
        out = np.zeros((len(cells), len(cells[0]) if cells else 0), dtype=np.uint8)
        for r, row in enumerate(cells):
            for c, s in enumerate(row):
                i = index.get(s)
                if i is None:
                    raise InputError(
                        f"{where}: unknown symbol {s!r} at row {r + 1}, column {c + 1}; "
                        f"the vocabulary is {self.describe()}",
                        file=file,
                        line=line,
                    )
                out[r, c] = i
        return out

    def cells(self, grid: np.ndarray) -> list[list[str]]:
        """uint8 [rows, cols] of indices -> rows of symbols (an index outside the vocabulary shows as '?')."""
        n = len(self.symbols)
        return [[self.symbols[int(v)] if 0 <= int(v) < n else "?" for v in row] for row in np.asarray(grid)]

    # -- text -----------------------------------------------------------------------------------------------
    @property
    def one_char(self) -> bool:
        return all(len(s) == 1 for s in self.symbols)

    def format(self, grid: np.ndarray) -> str:
        """Grid of indices -> text rows (see the module docstring)."""
        sep = "" if self.one_char else " "
        return "\n".join(sep.join(row) for row in self.cells(grid))

    def parse_text(self, text: str, *, file: str | None = None) -> np.ndarray:
        """Text rows (as :meth:`format` writes them) -> grid of indices; empty lines around it are ignored."""
        lines = text.replace("\r\n", "\n").split("\n")
        if " " not in self.symbols:  # spaces are not cells: indentation and trailing blanks are ignored
            lines = [line.strip() for line in lines]
        while lines and not lines[-1]:
            lines.pop()
        while lines and not lines[0]:
            lines.pop(0)
        if not lines:
            raise InputError("empty grid", file=file)
        rows = [list(line) if self.one_char else line.split() for line in lines]
        for r, row in enumerate(rows):
            if len(row) != len(rows[0]):
                raise InputError(f"ragged rows: row {r + 1} has {len(row)} cells, row 1 has {len(rows[0])}",
                                 file=file, line=r + 1)  # fmt: skip
        return self.indices(rows, where="grid", file=file)

    def describe(self) -> str:
        return " ".join(repr(s) for s in self.symbols)

    def permutable(self, fixed: Iterable[str]) -> np.ndarray:
        """Indices of the symbols a permutation may move (all but ``fixed``, which must be known)."""
        fixed = list(fixed)
        unknown = [s for s in fixed if s not in self.index]
        if unknown:
            raise InputError(f"fixed symbols {unknown} are not in the vocabulary {self.describe()}")
        keep = {self.index[s] for s in fixed}
        return np.array([i for i in range(self.size) if i not in keep], dtype=np.int64)
