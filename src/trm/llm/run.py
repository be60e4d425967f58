"""``trm llm eval``: ask an LLM every puzzle of a split, score the answers as ``trm eval`` does.

Design choices:

- **The puzzles are the split's examples** in stored order (the first ``limit`` puzzles' examples, as
  in ``trm eval --limit``); each question is decoded from its stored tokens by the task's codec. A task may
  choose the questions itself (``Task.llm_questions``): ARC asks only the original (identity-variant) test
  inputs, with their demonstrations (:mod:`trm.data.arc.llm`), and adds its pass@1.
- **Bounded concurrency.** ``concurrency`` worker threads, each holding one conversation at a time;
  the main thread alone writes the journal, after each finished puzzle (see :mod:`trm.llm.journal`).
- **Failures.** Each request has a timeout and ``retries`` retries (:func:`trm.llm.clients.with_retries`).
  A puzzle whose request still fails is recorded with its ``error`` and scored as wrong (``num_errors``
  counts them) and is asked again by ``--resume``. A non-retryable error (unknown model, bad request,
  no tool support) stops the run: every puzzle would fail the same way; so does a run whose first 3
  puzzles all fail (server down). Records finished so far stay in the journal and in a partial report
  (``complete: false``).
- **Ctrl-C** stops asking new puzzles, waits for the conversations in flight (at most ``timeout`` per
  request), journals them and writes the partial report. A second Ctrl-C stops journaling them (the
  report still holds everything journaled before).
- **Tool loop** (``tool`` given): the LLM may call ``solve_puzzle`` up to ``max_tool_rounds`` times; each
  call's result goes back as a tool message and the LLM is asked again. The final answer is the last
  reply's text. Latency covers the whole conversation, tool calls included.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trm.data.text_grid import TextForm
from trm.errors import InputError, StoppedError
from trm.llm.clients import ChatClient, ChatError, with_retries
from trm.llm.formats import grid_format
from trm.llm.journal import Journal, check_resumable, journal_path, read_journal, write_report
from trm.llm.prompts import PROMPT_VERSION, messages_for
from trm.llm.scoring import answer_tokens, score_rows


@dataclass
class EvalSettings:
    data: str
    model: str
    out: str
    split: str = "test"
    limit: int | None = None
    api: str = "ollama"
    host: str = "http://127.0.0.1:11434"
    with_tool: str | None = None  # checkpoint of the solve_puzzle tool
    concurrency: int = 2
    timeout: float = 600.0
    retries: int = 2
    backoff: float = 2.0
    max_tool_rounds: int = 3
    temperature: float = 0.0
    seed: int = 0
    num_ctx: int | None = None  # Ollama's context window (None: the server's default)
    resume: bool = False

    def __post_init__(self) -> None:
        for name in ("concurrency", "max_tool_rounds"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.retries < 0 or self.timeout <= 0 or self.backoff < 0:
            raise InputError("need retries >= 0, timeout > 0 and backoff >= 0")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit must be positive, got {self.limit}")


FIRST_FAILURES = 3


class StopRun(StoppedError):
    """A non-retryable error: the run stopped, what was done is in the journal."""


def _num_examples(split, limit: int | None) -> int:
    """Examples of the first ``limit`` puzzles (all when None), as ``trm eval --limit`` counts them."""
    return (
        split.num_examples
        if limit is None or limit >= split.num_puzzles
        else int(split.puzzle_indices[limit])
    )


def question_of(split, task, index: int) -> np.ndarray:
    """Example ``index`` of ``split`` as a question grid, decoded by the task's codec."""
    if not 0 <= index < split.num_examples:
        raise InputError(f"{split.path}: no example {index} (it has {split.num_examples})")
    return task.decode(np.asarray(split.inputs[index]), tuple(split.metadata.grid_shape))


class _Asker:
    """Everything one conversation needs; ``__call__`` runs the conversation of one example."""

    def __init__(self, client: ChatClient, settings: EvalSettings, fmt, split, task, tool, questions) -> None:
        self.client, self.settings, self.fmt, self.split = client, settings, fmt, split
        self.task, self.tool, self.questions = task, tool, questions

    def __call__(self, index: int) -> dict[str, Any]:
        s = self.settings
        question = question_of(self.split, self.task, index)
        demos = self.questions.demos(index) if self.questions is not None else None
        identifier = self.questions.identifier(index) if self.questions is not None else 0
        messages = messages_for(self.fmt, question, with_tool=self.tool is not None, demos=demos)
        tools = [self.tool.spec()] if self.tool is not None else None
        record: dict[str, Any] = {"index": index, "question": self.fmt.write(question), "error": None}
        tool_calls: list[dict] = []
        prompt_tokens = completion_tokens = 0
        counted = attempts = rounds = 0
        reply = None
        start = time.perf_counter()
        try:
            while True:
                rounds += 1
                reply, tries = with_retries(lambda: self.client.chat(messages, tools), s.retries, s.backoff)
                attempts += tries
                if reply.prompt_tokens is not None or reply.completion_tokens is not None:
                    counted += 1
                    prompt_tokens += reply.prompt_tokens or 0
                    completion_tokens += reply.completion_tokens or 0
                if not (reply.tool_calls and self.tool is not None and rounds <= s.max_tool_rounds):
                    break
                messages.append(reply.message)
                for call in reply.tool_calls:
                    result = self.tool(call, question, identifier=identifier)
                    tool_calls.append(result.to_record(call))
                    messages.append(self.client.tool_message(call, result.text))
        except ChatError as e:
            if not e.retryable:
                raise StopRun(f"{self.client.api} {self.client.model}: {e}") from None
            record["error"] = str(e)
            attempts += e.attempts
        latency = time.perf_counter() - start
        content = reply.content if reply is not None and record["error"] is None else None
        grid = self.fmt.read(content)
        record.update(
            reply=content,
            answer=None if grid is None else self.fmt.write(grid),
            parsed=grid is not None,
            latency_s=latency,
            prompt_tokens=prompt_tokens if counted else None,
            completion_tokens=completion_tokens if counted else None,
            attempts=attempts,
            rounds=rounds,
        )
        if self.tool is not None:
            record["tool_calls"] = tool_calls
        scores, _ = score_rows(
            self.task, self.split, np.array([index]), answer_tokens(self.task, self.split, grid)[None]
        )
        record.update({name: _scalar(values[0]) for name, values in scores.items()})
        return record


def _scalar(value: Any) -> bool | float:
    return bool(value) if isinstance(value, (bool, np.bool_)) else float(value)


def summarize(
    task, split, fmt: TextForm, records: list[dict[str, Any]], with_tool: bool
) -> tuple[dict[str, float], list[str]]:
    """(metrics, names of the task's own metrics) over ``records`` (sorted by index): ``trm eval``'s
    metrics first, then the LLM's own (parse rate, errors, latency, tokens, tool use)."""
    if not records:
        return {"num_examples": 0.0}, []
    indices = np.array([r["index"] for r in records])
    preds = np.stack([answer_tokens(task, split, fmt.read(r.get("answer"))) for r in records])
    _, means = score_rows(task, split, indices, preds)
    task_names = [k for k in means if k not in ("exact_accuracy", "token_accuracy")]
    metrics: dict[str, float] = {"num_examples": float(len(records)), **means}
    latencies = [r["latency_s"] for r in records if r.get("error") is None]
    metrics["parse_rate"] = float(np.mean([bool(r["parsed"]) for r in records]))
    metrics["num_errors"] = float(sum(r.get("error") is not None for r in records))
    if latencies:
        metrics["mean_latency_s"] = float(np.mean(latencies))
        metrics["median_latency_s"] = float(statistics.median(latencies))
    for key in ("prompt_tokens", "completion_tokens"):
        known = [r[key] for r in records if r.get(key) is not None]
        if known:
            metrics[f"mean_{key}"] = float(np.mean(known))
    if with_tool:
        calls = [len(r.get("tool_calls") or []) for r in records]
        called = np.array(calls) > 0
        exact = np.array([bool(r["exact"]) for r in records])
        metrics["tool_call_rate"] = float(called.mean())
        metrics["mean_tool_calls"] = float(np.mean(calls))
        every_call = [c for r in records for c in r.get("tool_calls") or []]
        if every_call:
            metrics["tool_input_match_rate"] = float(np.mean([bool(c["input_matches"]) for c in every_call]))
        if called.any():
            metrics["exact_accuracy_tool_called"] = float(exact[called].mean())
            last_answers = [[c["answer"] for c in r["tool_calls"] if c["ok"]] for r in records]
            agree = [bool(a) and r.get("answer") == a[-1] for r, a in zip(records, last_answers, strict=True)]
            metrics["answer_is_tool_answer"] = float(np.mean(np.array(agree)[called]))
        if (~called).any():
            metrics["exact_accuracy_tool_not_called"] = float(exact[~called].mean())
    return metrics, task_names


def _spec(checkpoint: str | None) -> str | None:
    """A checkpoint as recorded: a local path made absolute, anything else (``hf://...``) as given."""
    if checkpoint is None or not Path(checkpoint).exists():
        return checkpoint
    return str(Path(checkpoint).resolve())


def _header(settings: EvalSettings, task_name: str) -> dict[str, Any]:
    return {
        "task": task_name,
        "data": str(Path(settings.data).resolve()),
        "split": settings.split,
        "api": settings.api,
        "model": settings.model,
        "host": settings.host,
        "with_tool": _spec(settings.with_tool),
        "prompt_version": PROMPT_VERSION,
        "temperature": settings.temperature,
        "seed": settings.seed,
        "num_ctx": settings.num_ctx,
    }


def evaluate_llm(
    settings: EvalSettings,
    *,
    client: ChatClient | None = None,
    tool: Any = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run (or resume) an evaluation; returns the report that was written to ``settings.out``.

    ``client``/``tool`` default to the ones the settings name (tests pass their own).
    """
    from trm.data.format import open_split
    from trm.data.tasks import find_task, get_task
    from trm.llm.clients import make_client

    split = open_split(settings.data, settings.split)
    meta = split.metadata
    found = find_task(meta.task, meta)
    fmt = grid_format(found if found is not None else meta.task, tuple(meta.grid_shape))  # ValueError: none
    task = get_task(meta.task, meta)
    if client is None:
        client = make_client(
            settings.api,
            settings.host,
            settings.model,
            timeout=settings.timeout,
            temperature=settings.temperature,
            seed=settings.seed,
            num_ctx=settings.num_ctx,
        )
    if tool is None and settings.with_tool:
        from trm.inference.solver import Solver
        from trm.llm.tool import SolvePuzzleTool

        tool = SolvePuzzleTool(Solver.load(settings.with_tool), fmt)
    header = _header(settings, meta.task)
    jpath = journal_path(settings.out)
    done: dict[int, dict[str, Any]] = {}
    notes: list[str] = []
    if settings.resume and jpath.exists():
        old, done, notes = read_journal(jpath)
        check_resumable(old, header, jpath)
        done = {i: r for i, r in done.items() if r.get("error") is None}  # failed requests are asked again
    elif settings.resume:
        notes.append(f"--resume: no journal at {jpath}, starting fresh")
    questions = task.llm_questions(split, settings.data, settings.limit)  # None: every example (ARC: not)
    indices = (
        questions.indices if questions is not None else list(range(_num_examples(split, settings.limit)))
    )
    wanted = set(indices)
    pending = [i for i in indices if i not in done]
    try:
        params = client.model_parameters()
    except ChatError as err:
        params = None
        notes.append(f"model parameter count unknown: {err}")
    journal = Journal(jpath, header, resume=settings.resume)
    asker = _Asker(client, settings, fmt, split, task, tool, questions)
    stopped: str | None = None
    try:
        stopped = _run_pending(asker, pending, journal, done, settings.concurrency, progress)
    finally:
        journal.close()
        records = [done[i] for i in sorted(done) if i in wanted]
        complete = stopped is None and len(records) == len(indices)
        metrics, task_metrics = summarize(task, split, fmt, records, tool is not None)
        if questions is not None and records:  # the task's own scores of the answers (ARC: pass@1)
            scores = questions.scores(records)
            metrics.update(scores)
            task_metrics += [k for k in scores if k != "num_tasks"]
        report = {
            "kind": "llm_eval",
            **header,
            "data_path": settings.data,
            "complete": complete,
            "metrics": metrics,
            "task_metrics": task_metrics,
            "model_parameters": params,
            "tool_parameters": tool.parameters() if tool is not None else None,
            "notes": notes + ([f"stopped: {stopped}"] if stopped else []),
            "journal": str(jpath),
            "records": records,
        }
        write_report(settings.out, report)
    if stopped:
        raise StopRun(f"stopped: {stopped}; finished puzzles are kept: fix the cause and rerun with --resume")
    return report


def _run_pending(
    asker: _Asker, pending: list[int], journal: Journal, done: dict, concurrency: int, progress: bool
):
    """Ask every pending example with ``concurrency`` threads; journal each as it finishes.

    Returns None, or why the run stopped: a non-retryable error, or ``FIRST_FAILURES`` puzzles failing
    before any succeeded (the server is down or misconfigured; retrying every puzzle would only wait).
    """
    from tqdm.auto import tqdm

    bar = tqdm(total=len(pending), desc="llm", unit="puzzle", disable=not progress, leave=False)
    queue = iter(pending)
    running: set[Future] = set()
    stopped: str | None = None
    succeeded = failed = 0
    interrupted = False
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        try:
            while True:
                try:
                    while stopped is None and len(running) < concurrency:
                        index = next(queue, None)
                        if index is None:
                            break
                        running.add(pool.submit(asker, index))
                    if not running:
                        break
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:  # stop asking; the conversations in flight still get journaled
                    if interrupted:
                        raise
                    interrupted, stopped = True, "interrupted (Ctrl-C)"
                    continue
                for future in finished:
                    try:
                        record = future.result()
                    except StopRun as err:
                        stopped = stopped or str(err)
                        continue
                    journal.append(record)
                    done[record["index"]] = record
                    bar.update(1)
                    succeeded += record["error"] is None
                    failed += record["error"] is not None
                    if not succeeded and failed >= FIRST_FAILURES and stopped is None:
                        stopped = f"the first {failed} puzzles all failed; last error: {record['error']}"
        finally:
            for future in running:
                future.cancel()
            bar.close()
    return stopped
