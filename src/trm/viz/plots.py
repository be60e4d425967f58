"""Training curves from a run's ``metrics.jsonl``: loss, train and eval exact accuracy, learning rate.

Design choices:

- Reads the trainer's log format: one JSON object per line, ``{"step", "epoch", "kind": "train"|"eval",
  <metric>: value, ...}``. Blank lines are skipped; a line that is not a JSON object is an
  :class:`~trm.errors.InputError` naming the file and line, except a half-written LAST line (a run
  killed mid-write), which is skipped.
- Four panels against the optimizer step: every train metric named ``loss`` or ``*_loss``; train exact
  accuracy; eval exact accuracy (``exact_accuracy``, and ``exact_accuracy_step_*`` would clutter it,
  so only the final one); learning rate (``lr``). A panel with no data says so instead of vanishing,
  so a missing metric is visible. Metric names may carry a ``train/`` or ``eval/`` prefix.
- matplotlib ``Figure`` with the Agg canvas (no pyplot, no display); the PNG is written atomically.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from trm.metrics_log import METRICS_FILE, read_log_file
from trm.viz.render import new_figure, save_figure

TRAIN_ACCURACY_KEYS = ("exact_accuracy", "train_exact_accuracy", "accuracy_exact")
EVAL_ACCURACY_KEYS = ("exact_accuracy", "eval_exact_accuracy")
LR_KEYS = ("lr", "learning_rate")


def read_metrics_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The records of a metrics log (a file, or a run dir holding ``metrics.jsonl``); it must exist."""
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no metrics log")
    return read_log_file(path)


def _strip(name: str, kind: str) -> str:
    return name[len(kind) + 1 :] if name.startswith(kind + "/") else name


def _series(
    records: list[dict[str, Any]], kind: str, keys: tuple[str, ...]
) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for r in records:
        if r.get("kind", "train") != kind or "step" not in r:
            continue
        values = {_strip(k, kind): v for k, v in r.items()}
        for key in keys:
            v = values.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                xs.append(float(r["step"]))
                ys.append(float(v))
                break
    return xs, ys


def _loss_names(records: list[dict[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for r in records:
        if r.get("kind", "train") == "train":
            for k in r:
                k = _strip(k, "train")
                if k == "loss" or k.endswith("_loss"):
                    names[k] = None
    return list(names)


def training_curves_png(metrics_jsonl: str | Path, path: str | Path, *, title: str | None = None) -> Path:
    """Draw loss, train exact accuracy, eval exact accuracy and lr against the step into a PNG."""
    records = read_metrics_jsonl(metrics_jsonl)
    fig, axes = new_figure(10, 7, 2, 2)
    panels = [
        (
            axes[0, 0],
            "loss",
            [(name, *_series(records, "train", (name,))) for name in _loss_names(records)],
            False,
        ),
        (
            axes[0, 1],
            "train exact accuracy",
            [("train", *_series(records, "train", TRAIN_ACCURACY_KEYS))],
            True,
        ),
        (axes[1, 0], "eval exact accuracy", [("eval", *_series(records, "eval", EVAL_ACCURACY_KEYS))], True),
        (axes[1, 1], "learning rate", [("lr", *_series(records, "train", LR_KEYS))], False),
    ]
    for ax, name, curves, fraction in panels:
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
        drawn = False
        for label, xs, ys in curves:
            if xs:
                ax.plot(
                    xs, ys, marker="o" if len(xs) < 20 else None, markersize=3, linewidth=1.2, label=label
                )
                drawn = True
        if not drawn:
            ax.text(
                0.5, 0.5, "no data in the log", ha="center", va="center", transform=ax.transAxes, color="grey"
            )
            continue
        if fraction:
            ax.set_ylim(-0.02, 1.02)
        elif name == "loss" and all(y > 0 for _, _, ys in curves for y in ys):
            ax.set_yscale("log")
        if len(curves) > 1:
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, Path(path))
    return Path(path)
