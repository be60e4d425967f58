"""The task-specific prompts: the rules of the puzzle and the exact answer format, in plain words.

Design choices:

- **Zero-shot, stated rules.** A system message fixes the answer layout, the user message states the
  rules and shows the question in that layout (see :mod:`trm.llm.formats`). No few-shot examples: a
  9x9 example costs ~200 tokens, a 30x30 maze ~1,000, and the papers' LLM baselines are zero-shot.
- **The reply may reason first.** The answer is read as the last grid of the reply, so the prompt asks
  for the grid at the very end, in a code block, and nothing after it.
- **ARC** shows the task's demonstration pairs (input, output), then the test input; the answer's size
  is the model's to choose.
- **With the tool**, the user message adds one paragraph naming ``solve_puzzle``, saying what it is (a
  small model trained on such puzzles, usually but not always right) and how to pass the puzzle.
- ``PROMPT_VERSION`` is written into every report; ``--resume`` refuses to mix replies to different
  prompts. Change it whenever a prompt's wording changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trm.data.sudoku.grid import DIGITS, box_shape
from trm.llm.formats import ArcFormat, GridFormat

PROMPT_VERSION = "2026-12-01.2"

SYSTEM = (
    "You solve grid puzzles exactly. You may think step by step, but your reply must END with the final "
    "grid in a code block (``` on the line before and after it), written in exactly the format the user "
    "asks for, and nothing after the code block."
)

TOOL_PARAGRAPH = (
    "You have a tool, solve_puzzle, that runs a small neural network trained on this kind of puzzle. "
    "It is usually but not always right. To use it, call solve_puzzle with the argument puzzle set to the "
    "{what} exactly as shown above (one row per line). It answers with its grid and whether that grid "
    "{check}. Check its answer, then give your final answer in the format above."
)


def _sudoku_rules(fmt: GridFormat) -> str:
    n = fmt.rows
    br, bc = box_shape(n)
    digits = f"{DIGITS[1]}-{DIGITS[n]}" if n <= 9 else f"1-9 and {DIGITS[10]}-{DIGITS[n]}"
    return (
        f"Solve this {n}x{n} Sudoku. Fill every empty cell (shown as '.') with one of the symbols {digits} "
        f"so that every row, every column and every {br}x{bc} box (boxes of {br} rows and {bc} columns, "
        f"tiling the grid) contains each symbol exactly once. Keep every given symbol where it is."
    )


def _maze_rules(fmt: GridFormat) -> str:
    return (
        f"Find a shortest path through this {fmt.rows}x{fmt.cols} maze. '#' is a wall, '.' is an open cell, "
        "'S' is the start and 'G' is the goal. A path moves one cell up, down, left or right at a time and "
        "never enters a wall. Mark with 'o' every cell strictly between S and G on ONE shortest path (the "
        "fewest moves); leave every other cell, S and G as they are."
    )


def _arc_prompt(fmt: ArcFormat, question: np.ndarray, demos: Sequence[tuple[np.ndarray, np.ndarray]]) -> str:
    def block(grid: np.ndarray) -> str:
        return f"```\n{fmt.write(grid)}\n```"

    parts = [
        "Each example below shows an input grid and the output grid that one hidden rule makes of it. "
        "A grid is written one line per row, one digit per cell; each digit 0-9 is a colour. Find the rule "
        "and apply it to the test input."
    ]
    for k, (a, b) in enumerate(demos, start=1):
        parts.append(f"Example {k} input:\n{block(a)}\nExample {k} output:\n{block(b)}")
    parts.append(f"Test input:\n{block(question)}")
    parts.append(
        "Answer format: the test output grid, one line per row, one digit 0-9 per cell, no spaces, in a "
        "code block at the end. Its size may differ from the test input's."
    )
    return "\n\n".join(parts)


def _answer_format(fmt: GridFormat) -> str:
    if fmt.task == "sudoku":
        cells = "one symbol per cell, no spaces or separators"
    else:
        cells = "one of # . S G o per cell, no spaces"
    return f"Answer format: the solved grid as {fmt.describe()}, {cells}, in a code block at the end."


def user_prompt(
    fmt: GridFormat | ArcFormat,
    question: np.ndarray,
    *,
    with_tool: bool = False,
    demos: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
) -> str:
    """The user message for one question grid (ARC: with its task's demonstration pairs)."""
    if fmt.task == "arc":
        if not demos:
            raise ValueError("an ARC prompt needs the task's demonstration pairs")
        text = _arc_prompt(fmt, question, demos)
        tool = TOOL_PARAGRAPH.format(what="test input grid", check="is a well-formed grid")
    else:
        rules = _sudoku_rules(fmt) if fmt.task == "sudoku" else _maze_rules(fmt)
        parts = [rules, f"Puzzle ({fmt.describe()}):\n```\n{fmt.write(question)}\n```", _answer_format(fmt)]
        text = "\n\n".join(parts)
        tool = TOOL_PARAGRAPH.format(what="puzzle grid", check="obeys the rules")
    return f"{text}\n\n{tool}" if with_tool else text


def messages_for(
    fmt: GridFormat | ArcFormat,
    question: np.ndarray,
    *,
    with_tool: bool = False,
    demos: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
) -> list[dict]:
    """The opening chat messages (system, user) for one question."""
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": user_prompt(fmt, question, with_tool=with_tool, demos=demos)},
    ]
