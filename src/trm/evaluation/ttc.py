"""Evaluate a model with a test-time compute spec: accuracy of every selection and what it costs.

Design choices:

- **One run, every selection.** The candidates are the expensive part; selecting is cheap. So one run of
  a spec scores ``q``, ``vote`` (model-only) and ``verify`` (the task's rule checker, reported apart) on
  the same candidates: ``exact_accuracy_q``, ``exact_accuracy_vote``, ``exact_accuracy_verify``.
  ``exact_accuracy`` and the task metrics are those of the spec's own selection.
- **References from the same run**: ``exact_accuracy_candidate0`` is candidate 0 at its last step (the
  plain pass with the spec's step count); ``exact_accuracy_any`` counts a puzzle when any candidate, at
  its best or last step, is right (an upper bound for any selection, pass@K).
- **Cost**: ``calls_per_puzzle`` is the mean number of network calls spent per puzzle (counted from the
  steps each trajectory took); ``calls_ratio`` divides it by the plain pass's calls (the model's N_sup
  steps x T(n+1)). ``searched_fraction``: the share of puzzles the search ran on (below 1 with
  ``gate=q``). ``puzzles_per_second`` is wall-clock over the whole run.
- **Early exit** (``exit=q``, or ``early_halt=True`` as ``trm eval --early-halt --ttc`` passes) is the
  rollout engine's early halting, the one ``trm eval --early-halt`` uses without a spec.
- **Scoring** is :mod:`trm.scoring`'s: puzzles with no scored cell are left out of the accuracies.
- Batches come from :func:`trm.data.loader.eval_batches` (``batch_size`` puzzles, padding dropped);
  the engine cuts each batch's P x K rows into chunks of ``max_rows``.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from trm.data.format import Split
from trm.data.loader import eval_batches
from trm.data.tasks import get_task
from trm.device import pick_device, pick_dtype
from trm.evaluation.evaluate import EvalResult, _num_eval_examples
from trm.evaluation.metrics import task_metric_means
from trm.inference.ttc import SELECTIONS, TTCRunner, TTCSpec, parse_spec, rule_verdicts
from trm.inference.ttc.diagnose import Diagnostics
from trm.scoring import mean_over_scored, score_predictions, scored_rows


def _exact(preds: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """preds [..., L], labels [..., L] -> [...] bool: exactly right by :mod:`trm.scoring`'s rule."""
    return score_predictions(preds, labels)[0]


def evaluate_ttc(
    model: nn.Module,
    split: Split,
    spec: TTCSpec | str,
    *,
    steps: int | None = None,
    batch_size: int = 64,
    max_rows: int = 1024,
    device: torch.device | str = "auto",
    dtype: torch.dtype | str = "auto",
    limit: int | None = None,
    early_halt: bool = False,
    progress: bool = False,
    diagnose: bool = False,
) -> EvalResult:
    """Score ``spec`` on ``split`` (the first ``limit`` puzzles if given); see the module docstring.

    ``steps`` sets the spec's step count when the spec has none (``trm eval --steps``); ``batch_size``
    counts puzzles, each of which brings K candidate rows. ``early_halt`` (``trm eval --early-halt``) turns
    on the spec's early exit (``exit=q``): the same mechanism, the rollout engine's ``exit_on_halt``.
    ``diagnose`` adds the particle-cloud diagnostics (``diag_*``, :mod:`trm.inference.ttc.diagnose`)."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    if steps is not None and spec.steps is None:
        spec = replace(spec, steps=steps)
    if early_halt:
        spec = replace(spec, early_exit=True)
    device = pick_device(device) if isinstance(device, str) else device
    dtype = pick_dtype(device, dtype) if isinstance(dtype, str) else dtype
    meta = split.metadata
    task = get_task(meta.task, meta)  # a grid codec reads its vocabulary there
    e = _num_eval_examples(split, limit)
    if e == 0:
        raise ValueError(f"{split.path}: no examples to evaluate")
    ttc = TTCRunner(
        model,
        spec,
        task=meta.task,
        grid_shape=meta.grid_shape,
        vocab_size=meta.vocab_size,
        device=device,
        dtype=dtype,
        max_rows=max_rows,
    )
    right = {s: np.zeros(e, dtype=bool) for s in (*SELECTIONS, "candidate0", "any")}
    token = np.zeros(e)
    scored = np.zeros(e, dtype=bool)  # examples with a scored cell: the only ones averaged (trm.scoring)
    chosen_all = np.zeros((e, meta.seq_len), dtype=np.int64)
    inputs_all = np.zeros((e, meta.seq_len), dtype=np.int64)
    calls = np.zeros(e, dtype=np.int64)
    searched = np.zeros(e, dtype=bool)
    diag = Diagnostics() if diagnose else None
    was_training = model.training
    model.eval()
    bar = tqdm(total=e, desc=f"ttc x{spec.candidates}", unit="puzzle", disable=not progress, leave=False)
    start = time.perf_counter()
    try:
        for batch in eval_batches(split, batch_size, limit):
            real = batch["mask"].numpy()
            idx = batch["index"].numpy()[real]
            inputs = batch["inputs"].numpy()[real]
            labels = batch["labels"].numpy()[real]
            cands = ttc.run(inputs, batch["puzzle_identifiers"].numpy()[real])
            passes = {}
            verify_at = spec.answer_step("verify")
            passes[verify_at] = rule_verdicts(task, inputs, cands.answers(verify_at)[0], meta.grid_shape)
            for how in SELECTIONS:
                at = spec.answer_step(how)
                pick = cands.choose(how, passes)
                pred = cands.chosen(pick, at)
                right[how][idx] = _exact(pred, labels)
                if how == spec.select:
                    chosen_all[idx], token[idx] = pred, score_predictions(pred, labels)[1]
            scored[idx] = scored_rows(labels)
            right["candidate0"][idx] = _exact(cands.last[:, 0], labels)
            any_best = _exact(cands.best, labels[:, None]).any(1)
            right["any"][idx] = any_best | _exact(cands.last, labels[:, None]).any(1)
            inputs_all[idx], calls[idx] = inputs, cands.calls
            searched[idx] = True if cands.searched is None else cands.searched
            if diag is not None:
                answers, q = cands.answers(spec.answer_step())
                diag.add(answers, q, _exact(answers, labels[:, None]), cands.searched)
            bar.update(len(idx))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    finally:
        bar.close()
        model.train(was_training)
    seconds = time.perf_counter() - start
    plain_calls = model.n_sup * ttc.calls_per_step
    metrics: dict[str, float] = {
        "num_examples": float(e),
        "halt_max_steps": float(ttc.steps),
        "candidates": float(spec.candidates),
        "exact_accuracy": mean_over_scored(right[spec.select], scored),
        "token_accuracy": mean_over_scored(token, scored),
    }
    for name in (*SELECTIONS, "candidate0", "any"):
        metrics[f"exact_accuracy_{name}"] = mean_over_scored(right[name], scored)
    metrics["calls_per_puzzle"] = float(calls.mean())
    metrics["calls_ratio"] = float(calls.mean() / plain_calls)
    metrics["searched_fraction"] = float(searched.mean())
    notes = []
    if diag is not None:
        for name, value in diag.summary().items():
            if np.isfinite(value):
                metrics[name] = value
            else:
                notes.append(f"{name} is undefined here (one candidate per puzzle, or one class only)")
    labels_all = np.asarray(split.labels[:e])
    for name, value in task_metric_means(task.metrics(inputs_all, chosen_all, labels_all), e).items():
        metrics[name] = value
    metrics["seconds"] = seconds
    metrics["puzzles_per_second"] = e / max(seconds, 1e-9)
    return EvalResult(metrics=metrics, task=meta.task, split=str(split.path), notes=notes)
