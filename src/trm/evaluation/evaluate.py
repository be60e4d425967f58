"""Evaluate a model on a dataset split: the papers' protocol, and an early-halting fast path.

Design choices:

- **The papers' protocol** (``early_halt=False``): model in eval mode under ``torch.inference_mode()``;
  every slot of the carry is loaded with an eval example (a fresh carry is all halted, so the first call
  loads the batch); then N = ``halt_max_steps`` supervision steps (default: the model's N_sup) run on
  every example. The argmax prediction is scored after EVERY step, so one run gives
  ``exact_accuracy_step_k`` for k = 1..N, the final ``exact_accuracy`` / ``token_accuracy``, and the
  halting statistics of :func:`trm.evaluation.metrics.halting_stats` (what stopping at the first
  ``q_halt > 0`` would have scored, and how many network calls it would have saved). With Q-learning
  halting (HRM) the head fires when ``q_halt > q_continue`` instead (see ``trm.rollout.halt_signal``).
- **One engine.** Both modes are :func:`trm.rollout.rollout` (``docs/design.md``): ``batch_size`` slots,
  N steps per example, whatever the model's own N_sup (the engine, not the model, decides when a slot
  takes a new example). Idle slots of the last batch hold padding rows, so shapes never change.
- **Early halting** (``early_halt=True``): the engine's early exit with continuous batching. A slot
  stops when its ``q_halt > 0`` (or after N steps); its prediction is recorded and the next call loads a
  new example into it, so finished puzzles cost nothing more. Reports accuracy, mean steps and
  puzzles/s; no per-step accuracy. The test-time compute ``exit=q`` is the same early exit.
- **Padding never counts.** Rows with ``mask`` False (the padded tail of the last batch) are dropped
  before anything is scored; examples with no scored cell are left out of every accuracy, halting and
  step statistic (:mod:`trm.scoring`'s rule; a note says how many).
- **Task metrics.** ``trm.data.tasks.get_task(metadata.task).metrics(inputs, preds, labels)`` is merged in
  (means over examples), on the split's stored tokens. A task name with no registered codec (e.g. a
  split from the reference builders, named after its folder) skips task metrics and says so in
  ``EvalResult.notes``; a registered codec that fails is an error.
- The model's training mode is restored afterwards, so the trainer can call this mid-run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from trm.data.format import Split, token_dtype
from trm.data.loader import eval_batches
from trm.device import autocast, pick_device, pick_dtype
from trm.evaluation.metrics import halting_stats, task_metric_means
from trm.rollout import rollout, rollout_steps
from trm.rollout.torch_step import TorchStepper
from trm.scoring import IGNORE_LABEL, score_predictions, scored_rows

Batch = dict[str, torch.Tensor]
MODEL_KEYS = ("inputs", "labels", "puzzle_identifiers")


@dataclass
class EvalResult:
    """Metrics of one evaluation; per-example arrays (ordered by example index) when asked for."""

    metrics: dict[str, float]
    task: str = ""
    split: str = ""
    early_halt: bool = False
    notes: list[str] = field(default_factory=list)
    predictions: np.ndarray | None = None  # [E, L] tokens at the final (or halting) step
    q_halt: np.ndarray | None = None  # [E] float32 halting signal at that step (trm.rollout.halt_signal)
    steps: np.ndarray | None = None  # [E] int supervision steps taken
    indices: np.ndarray | None = None  # [E] example index in the split

    def to_json(self) -> str:
        """The report: metrics and what was evaluated (no per-example arrays)."""
        d = {"metrics": self.metrics, "task": self.task, "split": self.split, "early_halt": self.early_halt}
        return json.dumps({**d, "notes": self.notes}, indent=2, allow_nan=False) + "\n"


def _num_eval_examples(split: Split, limit: int | None) -> int:
    if limit is None or limit >= split.num_puzzles:
        return split.num_examples
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}")
    return int(split.puzzle_indices[limit])


def _task_metrics(split: Split, preds: np.ndarray, notes: list[str]) -> dict[str, float]:
    """The codec's per-example metrics on the stored tokens of examples 0..E-1, averaged."""
    from trm.data.tasks import get_task

    name = split.metadata.task
    try:
        task = get_task(name, split.metadata)
    except KeyError:
        notes.append(f"task {name!r} has no registered codec (trm.data.tasks): task metrics skipped")
        return {}
    e = preds.shape[0]
    inputs = np.asarray(split.inputs[:e])
    labels = np.asarray(split.labels[:e])
    return task_metric_means(task.metrics(inputs, preds, labels), e)


def _rows(batches, real_rows: list[int]) -> Iterator[dict[str, np.ndarray]]:
    """The real rows of the eval batches (padding dropped), in order: rollout row r is example r."""
    for batch in batches:
        real = batch["mask"].numpy()
        index = batch["index"].numpy()[real]
        if not np.array_equal(index, np.arange(real_rows[0], real_rows[0] + len(index))):
            raise RuntimeError(f"eval batches out of order at example {real_rows[0]}")  # loader contract
        real_rows[0] += len(index)
        yield {k: batch[k].numpy()[real] for k in MODEL_KEYS}


def _run_all_steps(stepper: TorchStepper, rows, n: int, batch_size: int, pad, out: dict, bar) -> None:
    """Every example for all n steps, batch_size at a time: fills out["correct"] [E, n], out["q"] [E, n],
    and token accuracy, predictions and "scored" at the final step."""
    step_correct, step_q = [], []  # per step, on the device: flushed when the batch's rows finish
    for ev in rollout(stepper, rows, steps=n, slots=batch_size, compact=False, pad=pad):
        exact, tok = score_predictions(ev.pred, ev.table["labels"])
        step_correct.append(exact)
        step_q.append(ev.signal)
        if not ev.done.any():
            continue
        real = ev.active  # without early exit the rows of a batch finish together, after step n
        idx = ev.rows[real]
        out["correct"][idx] = torch.stack(step_correct, 1).cpu().numpy()[real]  # [b, n]
        out["q"][idx] = torch.stack(step_q, 1).cpu().numpy()[real]
        out["token"][idx] = tok.cpu().numpy()[real]
        out["preds"][idx] = ev.pred.cpu().numpy()[real].astype(out["preds"].dtype)
        out["scored"][idx] = scored_rows(ev.table["labels"]).cpu().numpy()[real]
        step_correct, step_q = [], []
        bar.update(len(idx))


def _run_early_halt(stepper: TorchStepper, rows, n: int, batch_size: int, pad, out: dict, bar) -> None:
    """Continuous batching: a slot whose row halts (signal > 0, or n steps) takes the next example.
    Fills out["correct"], out["token"], out["q"], out["steps"], out["preds"], out["scored"] at each
    example's halting step."""
    for ev in rollout(stepper, rows, steps=n, slots=batch_size, exit_on_halt=True, compact=False, pad=pad):
        if not ev.done.any():
            continue
        exact, tok = score_predictions(ev.pred, ev.table["labels"])
        sel = np.flatnonzero(ev.done)
        at = stepper.to_device(sel)
        idx = ev.rows[sel]
        out["correct"][idx] = exact[at].cpu().numpy()
        out["token"][idx] = tok[at].cpu().numpy()
        out["q"][idx] = ev.signal[at].cpu().numpy()
        out["steps"][idx] = ev.steps[sel]
        out["preds"][idx] = ev.pred[at].cpu().numpy().astype(out["preds"].dtype)
        out["scored"][idx] = scored_rows(ev.table["labels"][at]).cpu().numpy()
        bar.update(len(idx))


def evaluate(
    model: nn.Module,
    split: Split,
    *,
    batch_size: int,
    device: torch.device | str = "auto",
    dtype: torch.dtype | str = "auto",
    halt_max_steps: int | None = None,
    limit: int | None = None,
    early_halt: bool = False,
    return_predictions: bool = False,
    progress: bool = False,
) -> EvalResult:
    """Evaluate ``model`` on ``split`` (the first ``limit`` puzzles if given); see the module docstring.

    ``device``/``dtype`` are where the batches go and the autocast dtype ("auto" picks them). Returns an
    :class:`EvalResult`; with ``return_predictions`` it carries predictions [E, L], q_halt [E], steps [E].
    """
    device = pick_device(device) if isinstance(device, str) else device
    dtype = pick_dtype(device, dtype) if isinstance(dtype, str) else dtype
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    n = rollout_steps(halt_max_steps, model.n_sup)
    e = _num_eval_examples(split, limit)
    if e == 0:
        raise ValueError(f"{split.path}: no examples to evaluate")
    meta = split.metadata
    tok_dtype = token_dtype(max(meta.vocab_size, int(getattr(model.config, "vocab_size", 0) or 0)))
    rows = _rows(eval_batches(split, batch_size, limit), [0])
    pad = {"inputs": meta.pad_id, "labels": IGNORE_LABEL, "puzzle_identifiers": 0}  # idle slots
    shape = (e, n) if not early_halt else (e,)
    out = {
        "correct": np.zeros(shape, dtype=bool),  # exact match (after each step, or at the halting step)
        "q": np.zeros(shape, dtype=np.float32),  # halting signal there
        "token": np.zeros(e, dtype=np.float32),  # token accuracy at the final (or halting) step
        "steps": np.full(e, n, dtype=np.int64),  # supervision steps taken
        "preds": np.zeros((e, meta.seq_len), dtype=tok_dtype),  # final (or halting) step's tokens
        "scored": np.zeros(e, dtype=bool),  # the example has a scored cell (trm.scoring)
    }
    notes: list[str] = []
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    bar = tqdm(total=e, desc="eval", unit="ex", disable=not progress, leave=False)
    try:
        with torch.inference_mode(), autocast(device, dtype):
            run = _run_early_halt if early_halt else _run_all_steps
            run(TorchStepper(model, device), rows, n, batch_size, pad, out, bar)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    finally:
        bar.close()
        model.train(was_training)
    seconds = time.perf_counter() - start
    scored, preds, steps = out["scored"], out["preds"], out["steps"]
    if not scored.any():
        raise ValueError(f"{split.path}: no example has a scored cell (every label is ignored)")
    if not scored.all():
        notes.append(f"{int((~scored).sum())} examples with no scored cell are left out of the accuracies")
    correct_k, q_k = out["correct"][scored], out["q"][scored]  # [E', n] or [E'] (trm.scoring's rule)
    correct, q_final = (correct_k, q_k) if early_halt else (correct_k[:, -1], q_k[:, -1])
    kept_steps = steps[scored]

    metrics: dict[str, float] = {
        "num_examples": float(e),
        "halt_max_steps": float(n),
        "exact_accuracy": float(correct.mean()),
        "token_accuracy": float(out["token"][scored].mean()),
    }
    if early_halt:
        metrics["mean_steps"] = float(kept_steps.mean())
        metrics["calls_saved"] = float(1.0 - kept_steps.mean() / n)
        metrics["halt_accuracy"] = float(((q_final > 0) == correct).mean())
        metrics["never_halted"] = float((q_final <= 0).mean())
    else:
        metrics.update({f"exact_accuracy_step_{k + 1}": float(correct_k[:, k].mean()) for k in range(n)})
        metrics.update(halting_stats(correct_k, q_k))
    for name, value in _task_metrics(split, preds, notes).items():
        if name in metrics:
            raise ValueError(f"task {meta.task!r} metric {name!r} clashes with a built-in metric")
        metrics[name] = value
    metrics["seconds"] = seconds
    metrics["puzzles_per_second"] = e / max(seconds, 1e-9)
    result = EvalResult(
        metrics=metrics, task=meta.task, split=str(split.path), early_halt=early_halt, notes=notes
    )
    if return_predictions:
        q_all = out["q"] if early_halt else out["q"][:, -1]
        result.predictions, result.q_halt, result.steps = preds, q_all, steps
        result.indices = np.arange(e, dtype=np.int64)
    return result


def format_metrics(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) rows for printing: fractions as percentages, counts as integers."""
    rows = []
    for name, value in metrics.items():
        if name in ("num_examples", "halt_max_steps", "candidates", "diag_puzzles"):
            rows.append((name, f"{int(value):,}"))
        elif name in (
            "seconds", "puzzles_per_second", "mean_steps", "early_halt_mean_steps", "calls_per_puzzle",
            "calls_ratio", "diag_entropy", "diag_alignment", "diag_alignment_label_free",
        ):  # fmt: skip
            rows.append((name, f"{value:,.2f}"))
        else:
            rows.append((name, f"{100 * value:.2f}%"))
    return rows
