"""Evaluate a model on a dataset split: the papers' protocol, and an early-halting fast path.

Design choices:

- **The papers' protocol** (``early_halt=False``): model in eval mode under ``torch.inference_mode()``;
  every slot of the carry is loaded with an eval example (a fresh carry is all halted, so the first call
  loads the batch); then N = ``halt_max_steps`` supervision steps (default: the model's N_sup) run on
  every example. The argmax prediction is scored after EVERY step, so one run gives
  ``exact_accuracy_step_k`` for k = 1..N, the final ``exact_accuracy`` / ``token_accuracy``, and the
  halting statistics of :func:`trm.evaluation.metrics.halting_stats` (what stopping at the first
  ``q_halt > 0`` would have scored, and how many network calls it would have saved). With Q-learning
  halting (HRM) the head fires when ``q_halt > q_continue`` instead (see ``metrics.halt_signal``).
- **More steps than N_sup.** The model marks a slot halted once it has taken N_sup steps; we clear the
  halted flags before every call after the first, so a slot keeps its puzzle for all N steps, whatever N.
- **Early halting** (``early_halt=True``): continuous batching. A slot stops when its ``q_halt > 0`` (or
  after N steps); its prediction is recorded and the next call loads a new example into it, so finished
  puzzles cost nothing more. Reports accuracy, mean steps and puzzles/s; no per-step accuracy.
- **Padding never counts.** Rows with ``mask`` False (the padded tail of the last batch) are dropped
  before anything is scored.
- **Task metrics.** ``trm.data.tasks.get_task(metadata.task).metrics(inputs, preds, labels)`` is merged in
  (means over examples), on the split's stored tokens. A task name with no registered codec (e.g. a
  split from the reference builders, named after its folder) skips task metrics and says so in
  ``EvalResult.notes``; a registered codec that fails is an error.
- The model's training mode is restored afterwards, so the trainer can call this mid-run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from trm.data.format import Split, token_dtype
from trm.data.loader import eval_batches
from trm.device import autocast, pick_device, pick_dtype
from trm.evaluation.metrics import halt_signal, halting_stats, score_predictions, task_metric_means

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
    q_halt: np.ndarray | None = None  # [E] float32 halting signal at that step (see metrics.halt_signal)
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


def _to_device(batch: Batch, device: torch.device) -> Batch:
    return {k: batch[k].to(device, non_blocking=True) for k in MODEL_KEYS}


def _run_all_steps(
    model: nn.Module, batches, n: int, device: torch.device, e: int, seq_len: int, tok_dtype, bar
):
    """Every example for all n steps. Returns per-example arrays over examples 0..e-1."""
    correct = np.zeros((e, n), dtype=bool)  # exact match after each step
    q_halt = np.zeros((e, n), dtype=np.float32)
    token = np.zeros(e, dtype=np.float32)  # token accuracy at the final step
    preds = np.zeros((e, seq_len), dtype=tok_dtype)  # final-step predictions
    for batch in batches:
        real = batch["mask"].numpy()  # [B]
        idx = batch["index"].numpy()[real]  # [b] example indices of the real rows
        data = _to_device(batch, device)
        carry = model.initial_carry(data)  # all halted: the first call loads the batch
        step_correct, step_q = [], []
        for k in range(n):
            if k:  # keep every slot on its puzzle, even past the model's own N_sup
                carry = replace(carry, halted=torch.zeros_like(carry.halted))
            carry, out = model(carry, data)
            pred = out.logits.argmax(-1)  # [B, L]
            exact, tok = score_predictions(pred, data["labels"])
            step_correct.append(exact)
            step_q.append(halt_signal(out))
        correct[idx] = torch.stack(step_correct, 1).cpu().numpy()[real]  # [b, n]
        q_halt[idx] = torch.stack(step_q, 1).cpu().numpy()[real]
        token[idx] = tok.cpu().numpy()[real]
        preds[idx] = pred.cpu().numpy()[real].astype(tok_dtype)
        bar.update(len(idx))
    return correct, q_halt, token, preds


class _RowFeeder:
    """Real rows of the eval batches, handed out a few at a time (for continuous batching)."""

    def __init__(self, batches) -> None:
        self._it = iter(batches)
        self._buf: Batch | None = None

    def take(self, count: int) -> Batch | None:
        """Up to ``count`` rows (inputs, labels, puzzle_identifiers, index), or None when exhausted."""
        while (self._buf is None or len(self._buf["index"]) < count) and self._it is not None:
            batch = next(self._it, None)
            if batch is None:
                self._it = None
                break
            real = batch["mask"]
            rows = {k: batch[k][real] for k in (*MODEL_KEYS, "index")}
            self._buf = rows if self._buf is None else {k: torch.cat([self._buf[k], rows[k]]) for k in rows}
        if self._buf is None or len(self._buf["index"]) == 0 or count == 0:
            return None
        out = {k: v[:count] for k, v in self._buf.items()}
        self._buf = {k: v[count:] for k, v in self._buf.items()}
        return out


def _run_early_halt(
    model: nn.Module, batches, n: int, device, batch_size: int, e: int, seq_len, pad_id: int, tok_dtype, bar
):
    """Continuous batching: a slot that halts (q_halt > 0 or n steps) takes the next example."""
    correct = np.zeros(e, dtype=bool)
    token = np.zeros(e, dtype=np.float32)
    q_final = np.zeros(e, dtype=np.float32)
    steps_taken = np.zeros(e, dtype=np.int64)
    preds = np.zeros((e, seq_len), dtype=tok_dtype)
    feeder = _RowFeeder(batches)
    first = feeder.take(batch_size)
    if first is None:
        return correct, token, q_final, steps_taken, preds
    b = batch_size
    slots: Batch = {  # the example each slot holds, on the device
        "inputs": torch.full((b, seq_len), pad_id, dtype=torch.long, device=device),
        "labels": torch.full((b, seq_len), -100, dtype=torch.long, device=device),
        "puzzle_identifiers": torch.zeros(b, dtype=torch.long, device=device),
    }
    slot_index = torch.full((b,), -1, dtype=torch.long)  # example index per slot, -1 = idle (CPU)
    slot_steps = torch.zeros(b, dtype=torch.long, device=device)
    halted = torch.ones(b, dtype=torch.bool, device=device)
    carry, new = None, first
    while True:
        free = halted.nonzero().squeeze(1).cpu()  # [f] slots to (re)load
        count = 0 if new is None else len(new["index"])
        if count:
            dst = free[:count].to(device)
            for k in MODEL_KEYS:
                slots[k][dst] = new[k].to(device)
            slot_index[free[:count]] = new["index"]
            slot_steps[dst] = 0
        idle = free[count:]
        if len(idle):  # nothing left to load: the slot idles on a padding row (computed, never read)
            slot_index[idle] = -1
            idle = idle.to(device)
            slots["inputs"][idle], slots["labels"][idle], slots["puzzle_identifiers"][idle] = pad_id, -100, 0
        active_cpu = slot_index >= 0  # [B]
        if not bool(active_cpu.any()):
            break
        active = active_cpu.to(device)
        data = {k: v.clone() for k, v in slots.items()}  # the model may keep references to its batch
        carry = model.initial_carry(data) if carry is None else replace(carry, halted=halted.clone())
        carry, out = model(carry, data)
        slot_steps += 1
        signal = halt_signal(out)  # [B] > 0: the halting head says stop
        done = active & ((signal > 0) | (slot_steps >= n))  # [B]
        if bool(done.any()):
            pred = out.logits.argmax(-1)  # [B, L]
            exact, tok = score_predictions(pred, data["labels"])
            sel = done.nonzero().squeeze(1)
            idx = slot_index[sel.cpu()].numpy()
            correct[idx] = exact[sel].cpu().numpy()
            token[idx] = tok[sel].cpu().numpy()
            q_final[idx] = signal[sel].cpu().numpy()
            steps_taken[idx] = slot_steps[sel].cpu().numpy()
            preds[idx] = pred[sel].cpu().numpy().astype(tok_dtype)
            bar.update(len(idx))
        halted = done | ~active
        new = feeder.take(int(halted.sum()))
    return correct, token, q_final, steps_taken, preds


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
    n = int(halt_max_steps or getattr(model, "halt_max_steps", None) or model.config.halt_max_steps)
    if n <= 0:
        raise ValueError(f"halt_max_steps must be positive, got {n}")
    e = _num_eval_examples(split, limit)
    if e == 0:
        raise ValueError(f"{split.path}: no examples to evaluate")
    meta = split.metadata
    tok_dtype = token_dtype(max(meta.vocab_size, int(getattr(model.config, "vocab_size", 0) or 0)))
    batches = eval_batches(split, batch_size, limit)
    notes: list[str] = []
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    bar = tqdm(total=e, desc="eval", unit="ex", disable=not progress, leave=False)
    try:
        with torch.inference_mode(), autocast(device, dtype):
            if early_halt:
                correct, token, q_final, steps, preds = _run_early_halt(
                    model, batches, n, device, batch_size, e, meta.seq_len, meta.pad_id, tok_dtype, bar
                )
            else:
                correct_k, q_k, token, preds = _run_all_steps(
                    model, batches, n, device, e, meta.seq_len, tok_dtype, bar
                )
                correct, q_final, steps = correct_k[:, -1], q_k[:, -1], np.full(e, n, dtype=np.int64)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    finally:
        bar.close()
        model.train(was_training)
    seconds = time.perf_counter() - start

    metrics: dict[str, float] = {
        "num_examples": float(e),
        "halt_max_steps": float(n),
        "exact_accuracy": float(correct.mean()),
        "token_accuracy": float(token.mean()),
    }
    if early_halt:
        metrics["mean_steps"] = float(steps.mean())
        metrics["calls_saved"] = float(1.0 - steps.mean() / n)
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
        result.predictions, result.q_halt, result.steps = preds, q_final, steps
        result.indices = np.arange(e, dtype=np.int64)
    return result


def format_metrics(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) rows for printing: fractions as percentages, counts as integers."""
    rows = []
    for name, value in metrics.items():
        if name in ("num_examples", "halt_max_steps"):
            rows.append((name, f"{int(value):,}"))
        elif name in ("seconds", "puzzles_per_second", "mean_steps", "early_halt_mean_steps"):
            rows.append((name, f"{value:,.2f}"))
        else:
            rows.append((name, f"{100 * value:.2f}%"))
    return rows
