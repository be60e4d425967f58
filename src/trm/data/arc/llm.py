"""ARC for an LLM (``ArcTask.text_form`` and ``ArcTask.llm_questions``): the text form of its grids, which
test-split examples to ask, the demonstration pairs to show, and pass@1.

Design choices:

- **Grids of any shape** (:class:`ArcForm`): rows of digits 0-9; the answer is the last block of consecutive
  rows of equal width (at most 30 of them), or a JSON grid on one line, whichever comes last.
- **The prompt** shows the task's demonstration pairs (input, output), then the test input; the answer's
  size is the model's to choose. The tool can only say whether its answer is a well-formed grid (ARC has
  no rules to check).

- **The original task, once.** An ARC test split holds every augmented variant of every evaluation
  task. An LLM is asked the identity variant only (variant 0 of each task, see
  :mod:`trm.data.arc.augment`): its examples are the task's test inputs as published. ``--limit N``
  takes the first N evaluation tasks.
- **Demonstrations from the source.** The split's training examples are augmented and translated, so the
  prompt's demonstration pairs are read again from the task file the dataset was built from
  (:func:`trm.data.arc.tasks_io.reload_task`, the source recorded in ``arc_tasks.json``).
- **Scores.** Each answer is scored like any other example (``exact_accuracy``, ``token_accuracy`` and
  the codec's ``grid_exact`` / ``valid_grid``); the ARC score is :func:`trm.data.arc.score.aggregate`
  on one attempt per test input (``pass@1``: a task's share of right test inputs, averaged over tasks, as
  ``trm arc evaluate`` reports TRM's ``arc/pass@1``; plus ``pass@1_strict`` and ``test_pass@1``).
- The tool solves with the identity variant's puzzle identifier, the embedding row TRM learned for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trm.data.arc.tasks_io import MAX_SIDE
from trm.data.format import Split
from trm.data.text_grid import Demos, TextForm, lines, separated_cells

Pair = tuple[np.ndarray, np.ndarray]


class ArcForm(TextForm):
    """ARC grids: any shape up to ``max_side`` a side, one line per row, one digit 0-9 per cell.

    ``read`` takes the last block of consecutive rows of equal width (1..``max_side`` rows), or a grid
    written as JSON on one line (``[[0, 1], [2, 3]]``), whichever comes last.
    """

    tool_what = "test input grid"
    tool_check = "is a well-formed grid"

    def __init__(self, max_side: int = MAX_SIDE) -> None:
        super().__init__("arc", max_side, max_side, "0123456789")
        self.max_side = max_side

    @property
    def shape(self) -> tuple[int, int] | None:
        return None  # any grid on the model's canvas

    def write(self, grid: np.ndarray) -> str:
        return "\n".join("".join(str(int(c)) for c in row) for row in np.asarray(grid))

    def describe(self) -> str:
        return "one line per row, one digit 0-9 per cell"

    def prompt(self, question: np.ndarray, demos: Demos | None = None) -> str:
        if not demos:
            raise ValueError("an ARC prompt needs the task's demonstration pairs")

        def block(grid: np.ndarray) -> str:
            return f"```\n{self.write(grid)}\n```"

        parts = [
            "Each example below shows an input grid and the output grid that one hidden rule makes of it. "
            "A grid is written one line per row, one digit per cell; each digit 0-9 is a colour. "
            "Find the rule and apply it to the test input."
        ]
        for k, (a, b) in enumerate(demos, start=1):
            parts.append(f"Example {k} input:\n{block(a)}\nExample {k} output:\n{block(b)}")
        parts.append(f"Test input:\n{block(question)}")
        parts.append(
            "Answer format: the test output grid, one line per row, one digit 0-9 per cell, no spaces, in a "
            "code block at the end. Its size may differ from the test input's."
        )
        return "\n\n".join(parts)

    def tool_subject(self) -> str:
        return "the test input of this ARC task"

    def tool_returns(self) -> str:
        return "its output grid and whether it is a well-formed grid"

    def verdict(self, valid: bool) -> str:
        return "is a well-formed grid" if valid else "is NOT a well-formed grid"

    def read(self, text: str | None) -> np.ndarray | None:
        last: list[list[int]] | None = None
        run: list[list[int]] = []
        for line in lines(text):
            grid = _json_grid(line, self.max_side)
            cells = None if grid is not None else self._row(line)
            if cells and run and len(cells) == len(run[0]):
                run.append(cells)
                continue
            if 0 < len(run) <= self.max_side:
                last = run
            run = [cells] if cells else []
            if grid is not None:
                last = grid
        if 0 < len(run) <= self.max_side:
            last = run
        return None if last is None else np.asarray(last, dtype=np.uint8)

    def _row(self, line: str) -> list[int] | None:
        for candidate in (line, line.rsplit(":", 1)[1] if ":" in line else ""):
            cells = separated_cells(candidate, lambda ch: int(ch) if ch in "0123456789" else None)
            if cells and len(cells) <= self.max_side:
                return cells
        return None


def _json_grid(line: str, max_side: int) -> list[list[int]] | None:
    """A grid written as JSON on one line, or None."""
    text = line.strip().rstrip(",")
    if not text.startswith("[["):
        return None
    try:
        grid = json.loads(text)
    except json.JSONDecodeError:
        return None
    ok = (
        isinstance(grid, list)
        and 0 < len(grid) <= max_side
        and all(isinstance(r, list) and r and len(r) == len(grid[0]) <= max_side for r in grid)
        and all(isinstance(v, int) and 0 <= v <= 9 for r in grid for v in r)
    )
    return grid if ok else None


@dataclass
class ArcPuzzles:
    """The examples to ask, with each example's task, demonstration pairs and puzzle identifier."""

    indices: list[int]
    task_of: dict[int, str] = field(default_factory=dict)
    identifier_of: dict[int, int] = field(default_factory=dict)
    demos_of_task: dict[str, list[Pair]] = field(default_factory=dict)

    def demos(self, index: int) -> list[Pair]:
        return self.demos_of_task[self.task_of[index]]

    def identifier(self, index: int) -> int:
        """The puzzle identifier the tool solves example ``index`` with (its identity variant's)."""
        return self.identifier_of[index]

    def scores(self, records: list[dict[str, Any]]) -> dict[str, float]:
        """ARC's own scores of the answers (pass@1 ...), beside the per-example metrics."""
        return arc_pass_at_1(records, self)


def arc_puzzles(split: Split, data: str | Path, limit: int | None) -> ArcPuzzles:
    """The identity variant's test inputs of the first ``limit`` evaluation tasks (all when None)."""
    from trm.data.arc.identifiers import VariantTable
    from trm.data.arc.tasks_io import reload_task

    table = VariantTable.load(data)
    puzzle_of_id = {int(pid): p for p, pid in enumerate(np.asarray(split.puzzle_identifiers))}
    tasks = [t for t in table.tasks if t.role == "eval"]
    if limit is not None:
        tasks = tasks[:limit]
    out = ArcPuzzles(indices=[])
    for info in tasks:
        if info.first not in puzzle_of_id:
            raise ValueError(f"{split.path}: task {info.name}'s identity variant ({info.first}) is not in it")
        try:
            source = reload_task(info.source, info.name)
        except (OSError, KeyError) as e:
            raise ValueError(
                f"task {info.name}: cannot read its demonstration pairs from {info.source} ({e})"
            ) from None
        out.demos_of_task[info.name] = list(zip(source.train_inputs, source.train_outputs, strict=True))
        for index in split.examples_of_puzzle(puzzle_of_id[info.first]):
            out.indices.append(index)
            out.task_of[index] = info.name
            out.identifier_of[index] = info.first
    return out


def arc_pass_at_1(records: list[dict[str, Any]], puzzles: ArcPuzzles) -> dict[str, float]:
    """``pass@1``, ``pass@1_strict``, ``test_pass@1``, ``num_tasks`` of one answer per test input."""
    from trm.data.arc.score import aggregate

    ranks: dict[str, list[int | None]] = {}
    for r in records:
        ranks.setdefault(puzzles.task_of[r["index"]], []).append(0 if r["grid_exact"] else None)
    m = aggregate(ranks, ks=(1,))
    return {k: m[k] for k in ("num_tasks", "pass@1", "pass@1_strict", "test_pass@1")}
