"""The ``grid`` task codec for :mod:`trm.data.tasks`: a user's grids of symbols <-> EOS-border tokens.

Design choices:

- The codec is built from the dataset metadata (:meth:`GridTask.from_metadata`, which
  ``trm.data.tasks.get_task("grid", metadata)`` calls): the vocabulary stored by the builder maps the
  task's own symbols to tokens, so ``trm solve`` reads a question and prints the answer in those symbols.
  Without metadata (``get_task("grid")``) the codec still computes its metrics, which need no symbols;
  reading or writing grids then raises an error that says what is missing.
- Grid values are symbol indices (uint8); :attr:`symbols` names them, which the pictures use.
- ``parse`` takes what a person has at hand: text rows (one character a cell; space-separated cells when a
  symbol is longer than one character), a JSON grid in any form the builder accepts, or a JSONL line
  ``{"input": GRID, ...}`` (its input is the question).
- ``decode`` crops at the EOS border (:func:`trm.data.arc.encode.crop`); no grid decodes to [0, 0].
- A user's task has no rule we could check, so ``is_valid_answer`` means "a well-formed grid of known
  symbols"; exact accuracy against the labels is the score. ``metrics`` adds ``copy_input_exact``: whether
  copying the question would have been exactly right, the baseline to beat.
"""

from __future__ import annotations

import json

import numpy as np

from trm.data.arc.encode import PAD, crop, encode_grid
from trm.data.errors import InputError
from trm.data.format import DatasetMetadata
from trm.data.grid.parse import parse_grid
from trm.data.grid.vocab import Vocabulary
from trm.data.tasks import TaskBase


class GridTask(TaskBase):
    name = "grid"

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self.vocabulary = vocabulary

    @classmethod
    def from_metadata(cls, metadata: DatasetMetadata) -> GridTask:
        stored = metadata.build.get("vocabulary")
        if stored is None:
            raise ValueError(
                "grid dataset metadata has no build.vocabulary; rebuild it with `trm data grids`"
            )
        vocab = Vocabulary.from_json(stored)
        if vocab.vocab_size != metadata.vocab_size:
            raise ValueError(
                f"stored vocabulary has {vocab.size} symbols (+ PAD, EOS), "
                f"metadata vocab_size is {metadata.vocab_size}"
            )
        return cls(vocab)

    @property
    def vocab(self) -> Vocabulary:
        if self.vocabulary is None:
            raise ValueError("the grid codec needs the dataset's vocabulary: use get_task('grid', metadata)")
        return self.vocabulary

    @property
    def symbols(self) -> tuple[str, ...] | None:
        """The task's own symbol of each grid value (None without a vocabulary)."""
        return None if self.vocabulary is None else self.vocabulary.symbols

    def parse(self, text: str) -> np.ndarray:
        stripped = text.strip()
        if stripped[:1] in ("[", "{", '"'):
            try:
                obj = json.loads(stripped)
            except json.JSONDecodeError as e:
                raise InputError(f"invalid JSON: {e.msg}", line=e.lineno, column=e.colno) from None
            if isinstance(obj, dict):
                if "input" not in obj:
                    raise InputError("a JSON object question needs an 'input' grid")
                obj = obj["input"]
            cells = parse_grid(obj, where="question", file=None, max_size=10**6)
            return self.vocab.indices(cells, where="question")
        return self.vocab.parse_text(text, file="question")

    def encode(self, grid: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
        g = np.asarray(grid)
        rows, cols = grid_shape
        if g.ndim != 2 or g.size == 0:
            raise InputError(f"a question is a non-empty grid, got shape {g.shape}")
        if g.shape[0] > rows or g.shape[1] > cols:
            raise InputError(
                f"question is {g.shape[0]}x{g.shape[1]}, this model's grids are at most {rows}x{cols}"
            )
        if int(g.min()) < 0 or int(g.max()) >= self.vocab.size:
            raise InputError(f"grid holds symbol indices outside 0..{self.vocab.size - 1}")
        return encode_grid(g.astype(np.uint8), shape=(rows, cols))

    def decode(self, tokens: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
        grid = crop(np.asarray(tokens), shape=tuple(grid_shape), vocab_size=self.vocab.vocab_size)
        return np.zeros((0, 0), dtype=np.uint8) if grid is None else grid

    def render_text(self, grid: np.ndarray) -> str:
        grid = np.asarray(grid)
        return "(no grid)" if grid.size == 0 else self.vocab.format(grid)

    def to_json(self, grid: np.ndarray) -> list:
        """A grid in the task's own symbols as JSON: rows of integers when every symbol is one, else text."""
        cells = self.vocab.cells(grid)
        if self.vocab.integers:
            return [[int(s) for s in row] for row in cells]
        return ["".join(row) for row in cells] if self.vocab.one_char else cells

    def is_valid_answer(self, question: np.ndarray, answer: np.ndarray) -> bool:
        a = np.asarray(answer)
        return bool(a.ndim == 2 and a.size and int(a.max()) < self.vocab.size)

    def metrics(self, inputs: np.ndarray, preds: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        """``copy_input_exact`` bool [E]: the stored question matches every scored label cell (tokens in)."""
        inputs, labels = np.asarray(inputs), np.asarray(labels)
        return {"copy_input_exact": ((inputs == labels) | (labels == PAD)).all(axis=1)}

    def text_form(self, grid_shape: tuple[int, int]):
        """None yet: a grid task's answers vary in shape and use the user's symbols."""
        raise ValueError(f"no LLM prompt for task {self.name!r}: its answers vary in shape")
