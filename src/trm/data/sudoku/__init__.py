"""Sudoku toolkit: parse and write puzzles, solve, count and rate them, generate and augment them.

Grids are numpy int arrays [N, N] (0 = blank, digits 1..N) for N in 4, 6, 9, 16. The dataset builders
live in :mod:`trm.data.sudoku.build` (hub, files) and :mod:`trm.data.sudoku.build_generated`.
"""

from trm.data.sudoku.augment import augment, augment_batch
from trm.data.sudoku.files import Puzzle, parse_file
from trm.data.sudoku.generate import Generated, generate
from trm.data.sudoku.grid import (
    SIZES,
    box_shape,
    format_grid,
    from_tokens,
    is_valid_solution,
    parse,
    to_tokens,
    validate,
)
from trm.data.sudoku.solver import count_solutions, rate, solve

__all__ = [
    "SIZES",
    "Generated",
    "Puzzle",
    "augment",
    "augment_batch",
    "box_shape",
    "count_solutions",
    "format_grid",
    "from_tokens",
    "generate",
    "is_valid_solution",
    "parse",
    "parse_file",
    "rate",
    "solve",
    "to_tokens",
    "validate",
]
