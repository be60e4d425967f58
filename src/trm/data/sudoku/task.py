"""The Sudoku task codec (``trm.data.tasks.get_task("sudoku")``): text <-> grid <-> tokens, and rules.

Design choices:

- A grid is [n, n] ints, 0 = blank, digits 1..n (any size the toolkit supports: 4x4, 6x6, 9x9 ...).
  Tokens follow the papers: PAD 0, blank 1, digit d -> d + 1.
- Every piece delegates to the Sudoku toolkit (:mod:`trm.data.sudoku`): parsing, formatting, token maps
  and the rules, so there is one definition of each.
- ``decode`` draws a model's raw output: a token that is no cell (PAD, or beyond the vocabulary) is read
  as a blank, so an untrained model's prediction still decodes, renders and scores as "not valid".
- Built from a dataset's metadata (:meth:`SudokuTask.from_metadata`, what the solver uses), the codec knows
  the model's size: a puzzle of another size is a :class:`~trm.errors.MismatchError` that names the size
  the model takes, and a malformed one is reported against that size (``hello`` for a 6x6 model: "expected
  36 cells for a 6x6 Sudoku"), not against the size its cell count happens to be nearest.
- The task metric is ``valid_solution``: the prediction fills every cell, obeys every rule and keeps
  the question's clues, even where it differs from the stored label (a puzzle may have several
  solutions).
"""

from __future__ import annotations

import numpy as np

from trm.data import sudoku
from trm.data.errors import InputError
from trm.data.tasks import TaskBase
from trm.errors import MismatchError


def _takes(n: int) -> str:
    return f"this model takes {n}x{n} Sudoku puzzles ({n * n} cells)"


class SudokuTask(TaskBase):
    name = "sudoku"

    def __init__(self, size: int | None = None) -> None:
        self.size = size  # the model's N, when known: parse checks it

    @classmethod
    def from_metadata(cls, metadata) -> SudokuTask:
        rows, cols = metadata.grid_shape
        return cls(rows if rows == cols else None)

    def parse(self, text: str) -> np.ndarray:
        """Puzzle text (81 characters with ``.``/``0`` blanks, or a drawn grid) -> [n, n] ints."""
        if self.size is None:
            return np.asarray(sudoku.parse(text))
        try:
            grid = np.asarray(sudoku.parse(text))
        except InputError:  # say what is wrong for the model's size, not for the nearest size
            return np.asarray(sudoku.parse(text, size=self.size))
        if grid.shape[0] != self.size:
            raise MismatchError(f"a {grid.shape[0]}x{grid.shape[0]} Sudoku, but {_takes(self.size)}")
        return grid

    def encode(self, grid: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
        grid = np.asarray(grid)
        if tuple(grid.shape) != tuple(grid_shape):
            raise MismatchError(f"a grid of shape {grid.shape} does not fit: {_takes(grid_shape[0])}")
        return np.asarray(sudoku.to_tokens(grid)).reshape(-1)

    def decode(self, tokens: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
        rows, cols = grid_shape
        if rows != cols:
            raise ValueError(f"a Sudoku grid is square, got grid_shape {tuple(grid_shape)}")
        return np.asarray(sudoku.from_tokens(np.asarray(tokens).reshape(-1), rows))  # non-cells -> blank

    def render_text(self, grid: np.ndarray) -> str:
        return sudoku.format_grid(np.asarray(grid), pretty=True)

    def is_valid_answer(self, question: np.ndarray, answer: np.ndarray) -> bool:
        return bool(sudoku.is_valid_solution(np.asarray(question), np.asarray(answer)))

    def metrics(self, inputs: np.ndarray, preds: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        """valid_solution [E] bool from token rows [E, L] (labels unused: any valid fill counts).

        Vectorised over examples (the test split has 422,786 puzzles); agrees with
        :meth:`is_valid_answer` on every grid (tested).
        """
        inputs, preds = np.asarray(inputs), np.asarray(preds)
        if inputs.shape != preds.shape or inputs.ndim != 2:
            raise ValueError(f"inputs {inputs.shape} and predictions {preds.shape} must be equal [E, L]")
        n = int(round(inputs.shape[1] ** 0.5))
        if n * n != inputs.shape[1]:
            raise ValueError(f"sudoku rows have {inputs.shape[1]} tokens, not a square number")
        br, bc = sudoku.box_shape(n)
        e = len(inputs)
        q = self._values(inputs, n).reshape(e, n, n)  # [E, n, n] 0 = blank
        p = self._values(preds, n).reshape(e, n, n)
        digits = np.arange(1, n + 1)
        boxes = (
            p.reshape(e, n // br, br, n // bc, bc).transpose(0, 1, 3, 2, 4).reshape(e, n, n)
        )  # [E, box, cell]
        valid = np.ones(e, dtype=bool)
        for units in (p, p.transpose(0, 2, 1), boxes):  # rows, columns, boxes: each a permutation of 1..n
            valid &= (np.sort(units, axis=-1) == digits).all(axis=(1, 2))
        valid &= ((q == 0) | (q == p)).all(axis=(1, 2))  # clues kept
        return {"valid_solution": valid}

    # -- plugins: pictures, LLM, test-time augmentation, examples -----------------------------------------
    @property
    def style(self):
        from trm.data.sudoku.render import SudokuStyle

        return SudokuStyle()

    def text_form(self, grid_shape: tuple[int, int]):
        from trm.data.sudoku.llm import SudokuForm

        return SudokuForm(*grid_shape)

    def symmetries(self, rng: np.random.Generator, count: int, grid_shape: tuple[int, int], vocab: int):
        from trm.data.augment import AugmentError
        from trm.data.sudoku.augment import token_symmetries

        rows, cols = grid_shape
        if rows != cols:
            raise AugmentError(f"a Sudoku grid is square, got {tuple(grid_shape)}")
        return token_symmetries(rng, count, rows, vocab)

    def example(self, grid_shape: tuple[int, int], index: int) -> tuple[np.ndarray, str]:
        """A generated puzzle with a unique solution, seeded by ``index``."""
        rows = int(grid_shape[0])
        puzzle = sudoku.generate(rows, count=1, seed=index)[0].puzzle
        return np.asarray(puzzle), f"generated {rows}x{rows} Sudoku"

    @staticmethod
    def _values(tokens: np.ndarray, n: int) -> np.ndarray:
        """Token rows [E, n*n] -> values [E, n*n]: digit d for token d+1, anything else 0 (blank)."""
        t = tokens.astype(np.int64)
        return np.where((t >= 2) & (t <= n + 1), t - 1, 0)
