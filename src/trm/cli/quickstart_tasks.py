"""The tasks of ``trm quickstart --task``: one row each (data builder, counts, budget, target).

Everything else (training with a target stop on the ``val`` split, evaluation, solving, pictures) is one
code path in :mod:`trm.cli.quickstart`. The recipe is not in the table: :mod:`trm.recipes.choose` picks it
from the built dataset, as ``trm train --data`` does. Budgets and counts follow the recipes' measurements
(docs/recipes.md); the targets are the quick-start's 98% for 6x6 Sudoku and issue 26's goals elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trm.errors import InputError

if TYPE_CHECKING:
    from trm.data.format import DatasetMetadata

DEFAULT_TASK = "sudoku6"
MAZE_SIDE = 9  # 9x9: 95% valid shortest paths in 12 min (maze_cpu); 11x11: 83% in 30 (maze11_cpu)


@dataclass(frozen=True)
class Counts:
    """What the user asked for, each None when not given (the task's default then applies)."""

    train: int | None = None
    test: int | None = None
    val: int | None = None
    num_aug: int | None = None
    min_blanks: int | None = None
    seed: int = 0


Say = Callable[[str], None]


@dataclass(frozen=True)
class QuickTask:
    """One row: how the data is built, how long training may take, and when it may stop."""

    name: str
    one: str  # one held-out example, in words: "puzzle", "maze", "example"
    noun: str  # plural
    defaults: Counts  # the counts when the user gives none
    options: tuple[str, ...]  # the Counts fields the user may set for this task
    budget: str  # the default budget in words (--help, docs)
    minutes: float | None  # train.max_minutes unless --minutes; None: the recipe's step plan alone
    target: float  # validation exact accuracy that stops training
    target_every: int  # steps between validation checks
    build: Callable[[Path, Counts, Path | None, Say], str]  # (data, counts, file, say) -> a report line
    fits: Callable[[DatasetMetadata, Path | None], bool]  # an existing dataset in --out is this task's
    extra_metrics: tuple[str, ...] = ()  # task metrics printed and kept in the summary
    expected_examples_per_s: float | None = None  # the training speed measured on an idle 2-core machine
    as_before: bool = False  # the 6x6 quick-start: output, summary and folder stay as they were (README)

    @property
    def default_out(self) -> Path:
        return Path("runs/quickstart" if self.as_before else f"runs/quickstart-{self.name}")

    def counts(self, given: Counts) -> Counts:
        """The user's counts over the defaults; an option this task does not use is an error."""
        values = {}
        for key in ("train", "test", "val", "num_aug", "min_blanks"):
            mine, default = getattr(given, key), getattr(self.defaults, key)
            if mine is not None and key not in self.options:
                raise InputError(f"--{_flag(key)} does not apply to --task {self.name}")
            values[key] = default if mine is None else mine
        return Counts(**values, seed=given.seed)


def _flag(key: str) -> str:
    return {"train": "train-puzzles", "test": "test-puzzles", "val": "val-puzzles"}.get(key, key).replace(
        "_", "-"
    )


def _sudoku(size: int) -> Callable[[Path, Counts, Path | None, Say], str]:
    def build(data: Path, c: Counts, file: Path | None, say: Say) -> str:
        from trm.data.sudoku.build_generated import build_from_generator

        # Starting worker processes costs seconds (20 9x9 puzzles: 1.1 s in one process, 4.0 s with two
        # workers on the shared 2-core machine), so a small set is generated in this process.
        need = (c.train or 0) + (c.test or 0) + (c.val or 0)

        say(f"generating {c.train} + {c.test} test + {c.val} validation {size}x{size} puzzles into {data}")
        report = build_from_generator(
            data,
            size=size,
            train_count=c.train or 0,
            test_count=c.test or 0,
            val_count=c.val or 0,
            num_aug=c.num_aug or 0,
            min_blanks=c.min_blanks,
            seed=c.seed,
            force=True,
            progress=True,
            workers=min(8, os.cpu_count() or 1) if need >= 1000 else 1,
        )
        return f"{report.counts} in {report.seconds:.1f}s"

    return build


def _maze(data: Path, c: Counts, file: Path | None, say: Say) -> str:
    from trm.data.maze.build import build_generated
    from trm.data.maze.generate import default_min_path_len

    side = MAZE_SIDE
    say(
        f"generating {c.train} + {c.test} test + {c.val} validation {side}x{side} mazes (shortest paths of "
        f">= {default_min_path_len(side)} moves, Maze-Hard's rule scaled by area) into {data}"
    )
    metas = build_generated(
        data,
        num_train=c.train or 0,
        num_test=c.test or 0,
        num_val=c.val or 0,
        side=side,
        augment=True,
        seed=c.seed,
        force=True,
        progress=True,
    )
    return f"{metas['train'].num_examples} training examples (each maze in its 8 dihedral variants)"


def _grid_val_count(file: Path, val: int | None) -> int:
    """``val`` or, by default, a tenth of the examples without a split (at least one when any are left)."""
    from trm.data.grid.build import GridOptions
    from trm.data.grid.parse import read_source

    if val is not None:
        return val
    examples = read_source(file).examples
    free = sum(ex.split is None for ex in examples)
    n_test = round(GridOptions().test_fraction * free)
    return max(0, min(max(1, round(0.1 * free)), free - n_test - 1))


def _grid(data: Path, c: Counts, file: Path | None, say: Say) -> str:
    from trm.data.grid.build import GridOptions, build_grids

    assert file is not None
    val = _grid_val_count(file, c.val)
    say(f"building {file} into {data} (as `trm data grids`; {val} examples held out for validation)")
    result = build_grids(data, file, GridOptions(seed=c.seed, val_count=val), force=True)
    if "val" not in result.metadata:
        raise InputError(
            'too few examples for a validation split: add examples, or mark some with "split": "val"',
            file=str(file),
        )
    counts = {split: meta.build["num_original_examples"] for split, meta in result.metadata.items()}
    return f"{counts}; vocabulary {', '.join(result.vocabulary.symbols)}"


def _shape(task: str, side: int) -> Callable[[DatasetMetadata, Path | None], bool]:
    return lambda meta, file: meta.task == task and tuple(meta.grid_shape) == (side, side)


SUDOKU = ("train", "test", "val", "num_aug", "min_blanks")
TASKS: dict[str, QuickTask] = {
    t.name: t
    for t in (
        QuickTask(
            "sudoku6",
            "puzzle",
            "puzzles",
            Counts(train=4000, test=500, val=300, num_aug=16, min_blanks=18),
            SUDOKU,
            "~4 min on 2 idle cores: a plan of 1,500 steps (up to 2,250 while the target is missed)",
            minutes=None,
            target=0.98,  # the test accuracy it gives sits about there (>= 97%)
            target_every=100,
            build=_sudoku(6),
            fits=_shape("sudoku", 6),
            expected_examples_per_s=536,  # fp32, 2 threads (docs/speed.md)
            as_before=True,
        ),  # fmt: skip
        QuickTask(
            "sudoku9",
            "puzzle",
            "puzzles",
            Counts(train=5000, test=500, val=300, num_aug=16),
            SUDOKU,
            "30 min (sudoku9_cpu's budget: 74-91% held-out exact after 30 min on 2 cores, docs/learning.md)",
            minutes=30,
            target=0.95,
            target_every=500,
            build=_sudoku(9),
            fits=_shape("sudoku", 9),
        ),  # fmt: skip
        QuickTask(
            "maze",
            "maze",
            "mazes",
            Counts(train=4000, test=500, val=300),
            ("train", "test", "val"),
            "12 min (9x9 mazes, maze_cpu: 95% valid shortest paths in 12 min on 2 cores, docs/learning.md)",
            minutes=12,
            target=0.90,
            target_every=250,
            build=_maze,
            fits=_shape("maze", MAZE_SIDE),
            extra_metrics=("valid_shortest_path",),
        ),  # fmt: skip
        QuickTask(
            "grid",
            "example",
            "examples",
            Counts(),
            ("val",),
            "6 min (grid_tiny's cap; grid8_cpu on 7x7-8x8; your examples as `trm data grids` builds them)",
            minutes=6,
            target=0.99,
            target_every=100,
            build=_grid,
            fits=lambda meta, file: meta.task == "grid" and meta.build.get("source") == str(file),
        ),  # fmt: skip
    )
}


def parse_task(text: str) -> tuple[QuickTask, Path | None]:
    """``sudoku6`` | ``sudoku9`` | ``maze`` | ``grid:FILE`` -> (the row, the file of ``grid:``)."""
    name, _, rest = text.partition(":")
    if name not in TASKS:
        raise InputError(f"unknown --task {text!r}; the tasks: sudoku6, sudoku9, maze, grid:FILE")
    if (name == "grid") != bool(rest):
        raise InputError(
            "--task grid needs a file of examples, grid:FILE (JSONL, CSV or a folder of ARC tasks)"
            if name == "grid"
            else f"--task {name} takes no file"
        )
    file = Path(rest) if rest else None
    if file is not None and not file.exists():
        raise InputError("no such file or folder", file=str(file))
    return TASKS[name], file
