"""Checkpoint input/output: our run-dir format (``run_dir``); later the reference formats and the hub.

Everything that loads a model for evaluation or inference goes through this package.
"""

from trm.checkpoints.run_dir import (
    latest_checkpoint,
    load_for_inference,
    load_training_state,
    read_meta,
    resolve_step_dir,
    save_checkpoint,
    write_run_info,
)

__all__ = [
    "latest_checkpoint",
    "load_for_inference",
    "load_training_state",
    "read_meta",
    "resolve_step_dir",
    "save_checkpoint",
    "write_run_info",
]
