"""The prompts: a system message, the task's rules and answer format (its text form's words), the tool.

Design choices:

- **Zero-shot, stated rules.** A system message fixes the answer layout, the user message states the
  rules and shows the question in that layout; the task's text form words both (``TextForm.prompt``,
  :mod:`trm.data.text_grid`). No few-shot examples: a
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

from trm.data.text_grid import TextForm

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


def user_prompt(
    fmt: TextForm,
    question: np.ndarray,
    *,
    with_tool: bool = False,
    demos: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
) -> str:
    """The user message for one question grid in the task's words (ARC: with its demonstration pairs)."""
    text = fmt.prompt(question, demos)
    tool = TOOL_PARAGRAPH.format(what=fmt.tool_what, check=fmt.tool_check)
    return f"{text}\n\n{tool}" if with_tool else text


def messages_for(
    fmt: TextForm,
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
