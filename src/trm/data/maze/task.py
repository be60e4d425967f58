"""The Maze task codec for :mod:`trm.data.tasks` (evaluation, ``trm solve``, pictures).

Grid values are the cell codes of :mod:`trm.data.maze.grid`, which are also the tokens, so encode and
decode only flatten and reshape (and check); :mod:`trm.viz.render` draws the same codes. A maze must
have the dataset's exact size: there is no padding. "A right answer" is any shortest path, not only
the labelled one.
"""

from __future__ import annotations

import numpy as np

from trm.data.errors import InputError
from trm.data.maze.grid import CHARSET, PAD, PATH, parse_maze, render_maze
from trm.data.maze.metrics import is_valid_shortest_path, maze_metrics
from trm.data.tasks import TaskBase
from trm.errors import MismatchError


class MazeTask(TaskBase):
    name = "maze"
    vocab_size = len(CHARSET) + 1

    def __init__(self, side: int | None = None) -> None:
        self.side = side  # the model's side, when known (from_metadata): parse checks it

    @classmethod
    def from_metadata(cls, metadata) -> MazeTask:
        rows, cols = metadata.grid_shape
        return cls(rows if rows == cols else None)

    def parse(self, text: str) -> np.ndarray:
        """A question as one 900-character line (hub layout) or as rows of text -> grid [side, side]."""
        return parse_maze(text, side=self.side)

    def encode(self, grid: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
        g = np.asarray(grid)
        if tuple(g.shape) != tuple(grid_shape):
            raise MismatchError(
                f"maze is {g.shape[0]}x{g.shape[1]}, this model's mazes are {grid_shape[0]}x{grid_shape[1]}"
            )
        if g.size and (int(g.min()) < PAD or int(g.max()) > PATH):
            raise InputError(f"maze grid holds values outside {PAD}..{PATH}")
        return g.reshape(-1).astype(np.int64)  # [seq_len]

    def decode(self, tokens: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
        t = np.asarray(tokens).reshape(grid_shape)
        return np.where((t >= PAD) & (t <= PATH), t, PAD).astype(np.uint8)  # unknown tokens draw as PAD

    def render_text(self, grid: np.ndarray) -> str:
        return render_maze(grid)

    def is_valid_answer(self, question: np.ndarray, answer: np.ndarray) -> bool:
        return is_valid_shortest_path(question, answer)

    def metrics(self, inputs: np.ndarray, preds: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        """``valid_path`` and ``valid_shortest_path``, bool [E] (labels unused: any shortest path counts)."""
        return maze_metrics(inputs, preds)

    # -- plugins: pictures, LLM, test-time augmentation, examples -----------------------------------------
    @property
    def style(self):
        from trm.data.maze.render import MazeStyle

        return MazeStyle()

    def text_form(self, grid_shape: tuple[int, int]):
        from trm.data.maze.llm import MazeForm

        return MazeForm(*grid_shape)

    def symmetries(self, rng: np.random.Generator, count: int, grid_shape: tuple[int, int], vocab: int):
        """The dihedral transforms 0..count-1 (the same for every puzzle; ``rng`` unused)."""
        from trm.data.augment import AugmentError
        from trm.data.maze.augment import token_symmetries

        rows, cols = grid_shape
        if rows != cols:
            raise AugmentError(f"the dihedral transforms need a square maze, got {tuple(grid_shape)}")
        return token_symmetries(count, rows, vocab)

    def example(self, grid_shape: tuple[int, int], index: int) -> tuple[np.ndarray, str]:
        """A generated maze, seeded by ``index``."""
        from trm.data.maze.generate import generate_maze

        rows = int(grid_shape[0])
        return generate_maze(np.random.default_rng(index), rows), f"generated {rows}x{rows} maze"
