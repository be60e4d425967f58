"""What ``trm llm eval`` itself costs per puzzle, and whether concurrency hides a server's latency.

No LLM runs here. In-process clients stand in for the server (no HTTP), so the table isolates the
harness: building the prompt, reading the grid out of the reply, scoring it with ``trm eval``'s
metrics, and journaling the record (one fsync per puzzle). Clients:

- ``oracle``: replies with reasoning text, then the stored label as a boxed grid (Sudoku) or with spaces
  for open cells (Maze): the parser must find it, and the score must be 100%.
- ``echo``: replies with the question itself: a parsed grid that must score 0% exact.
- ``oracle+latency``: the oracle after sleeping ``--latency`` seconds, at several ``--concurrency``
  levels: wall time should fall as ``N * latency / concurrency``.

    .venv/bin/python benchmarks/llm_harness.py                       # 200 9x9 Sudoku, 200 30x30 mazes
    .venv/bin/python benchmarks/llm_harness.py --sudoku 50 --mazes 50 --latency 0.05
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from trm.data.format import DatasetMetadata, write_split
from trm.data.maze.generate import generate_records
from trm.data.sudoku import format_grid, generate, to_tokens
from trm.data.text_grid import TextForm
from trm.llm.clients import ChatReply
from trm.llm.formats import grid_format
from trm.llm.run import EvalSettings, evaluate_llm


class FakeClient:
    """A ChatClient answering from the dataset's labels (oracle) or with the question (echo)."""

    api, model = "fake", "fake"

    def __init__(self, fmt: TextForm, answers: dict[bytes, np.ndarray], mode: str, latency: float) -> None:
        self.fmt, self.answers, self.mode, self.latency = fmt, answers, mode, latency

    def chat(self, messages, tools=None) -> ChatReply:
        question = self.fmt.read(messages[1]["content"])
        if self.latency:
            time.sleep(self.latency)
        if self.mode == "echo":
            return ChatReply(content=f"```\n{self.fmt.write(question)}\n```")
        answer = self.answers[question.astype(np.int64).tobytes()]
        if self.fmt.task == "sudoku":
            text = format_grid(answer, pretty=True)
        else:
            text = self.fmt.write(answer).replace(".", " ")
        return ChatReply(content=f"Let me work through it.\nFinal answer:\n```\n{text}\n```")

    def tool_message(self, call, content):
        raise NotImplementedError

    def model_parameters(self):
        return None


def write_task(root: Path, task: str, questions, answers, side: int, vocab: int, tokens) -> None:
    e = len(questions)
    write_split(
        root,
        "test",
        inputs=np.stack([tokens(q) for q in questions]),
        labels=np.stack([tokens(a) for a in answers]),
        puzzle_identifiers=np.zeros(e, np.int32),
        puzzle_indices=np.arange(e + 1),
        group_indices=np.arange(e + 1),
        metadata=DatasetMetadata(
            task=task,
            vocab_size=vocab,
            seq_len=side * side,
            grid_shape=(side, side),
            num_puzzle_identifiers=1,
        ),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sudoku", type=int, default=200, help="9x9 Sudoku puzzles")
    ap.add_argument("--mazes", type=int, default=200, help="30x30 mazes")
    ap.add_argument("--latency", type=float, default=0.02, help="simulated seconds per reply")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    args = ap.parse_args()
    print("$ " + shlex.join([sys.executable, *sys.argv]), flush=True)
    work = Path(tempfile.mkdtemp(prefix="llm_harness_"))
    sets = {}
    if args.sudoku:
        gen = generate(9, count=args.sudoku, seed=0)
        qs, ans = [g.puzzle for g in gen], [g.solution for g in gen]
        write_task(work / "sudoku", "sudoku", qs, ans, 9, 11, to_tokens)
        sets["sudoku"] = (grid_format("sudoku", (9, 9)), qs, ans)
    if args.mazes:
        recs = generate_records(args.mazes, side=30, seed=0)
        qs, ans = [r.question for r in recs], [r.answer for r in recs]
        write_task(work / "maze", "maze", qs, ans, 30, 6, lambda g: g.reshape(-1))
        sets["maze"] = (grid_format("maze", (30, 30)), qs, ans)
    header = [
        "task",
        "client",
        "puzzles",
        "concurrency",
        "latency s",
        "wall s",
        "ms / puzzle",
        "exact",
        "token",
    ]
    rows = []
    for task, (fmt, qs, ans) in sets.items():
        answers = {np.asarray(q, dtype=np.int64).tobytes(): a for q, a in zip(qs, ans, strict=True)}
        runs = [("oracle", 0.0, 1), ("echo", 0.0, 1)] + [
            ("oracle", args.latency, c) for c in args.concurrency
        ]
        for k, (mode, latency, conc) in enumerate(runs):
            client = FakeClient(fmt, answers, mode, latency)
            settings = EvalSettings(
                data=str(work / task), model="fake", out=str(work / f"{task}_{k}.json"), concurrency=conc
            )
            start = time.perf_counter()
            report = evaluate_llm(settings, client=client)
            wall = time.perf_counter() - start
            m = report["metrics"]
            name = mode if not latency else f"{mode}+latency"
            rows.append([task, name, f"{len(qs)}", f"{conc}", f"{latency:g}", f"{wall:.2f}",
                         f"{1000 * wall / len(qs):.1f}", f"{100 * m['exact_accuracy']:.1f}%",
                         f"{100 * m['token_accuracy']:.1f}%"])  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
