"""A run's data: its training and evaluation splits (``data.*`` of the config), and its task's evaluator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trm.config import ConfigError, RunConfig
from trm.data.format import Split, open_split
from trm.data.tasks import find_task


def open_splits(config: RunConfig) -> tuple[Split, Split]:
    """(training split, evaluation split) of ``data.path``; a ConfigError names what is missing."""
    if config.data.path is None:
        raise ConfigError(
            "data.path is not set: pass data.path=<dataset folder> (build one with `trm data ...`)"
        )
    root = Path(config.data.path)
    for name in (config.data.train_split, config.data.eval_split):
        if not (root / name).is_dir():
            raise ConfigError(f"data.path={root}: split {name!r} not found (expected folder {root / name})")
    return open_split(root, config.data.train_split), open_split(root, config.data.eval_split)


def task_evaluator(config: RunConfig, split: Split) -> Any:
    """The evaluator the dataset's task provides for the evaluation split (ARC: voting), or None."""
    task = find_task(split.metadata.task, split.metadata)
    if task is None:
        return None
    return task.evaluator(config.data.path, config.data.eval_split, pool_votes=config.eval.pool_votes)
