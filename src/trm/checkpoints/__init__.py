"""Checkpoint input/output: our run-dir format, the reference TRM/HRM format, and the hub.

- ``run_dir``: our format (save, ``latest``, resume state, inference loading), checksummed.
- ``integrity``: the sizes and SHA-256 that meta.json records and loading verifies.
- ``layouts``: which file of a folder (or a hub listing) holds the weights, and which files describe it.
- ``weights``: a weights file of any published layout -> a flat state dict (memory-mapped, safe).
- ``reference``, ``reference_config``, ``arch_options``: the reference code's layout and config -> our
  models; ``--arch``/``--arch-config`` for checkpoints without a config.
- ``fast_build``: a model built around its weights without initialising what they replace.
- ``hub``: ``hf://owner/repo[/path][@revision][@step=N]``: list, choose, download only that.
- ``catalog``: the known pretrained checkpoints (``trm models``).
- ``resolve``: ``load_any(spec)``, what every command and ``trm.Solver.load`` use.
"""

from trm.checkpoints.errors import CheckpointError
from trm.checkpoints.reference import load_official
from trm.checkpoints.resolve import convert, load_any
from trm.checkpoints.run_dir import (
    latest_checkpoint,
    latest_verified_checkpoint,
    load_for_inference,
    load_training_state,
    read_meta,
    resolve_step_dir,
    save_checkpoint,
    verify_checkpoint,
    write_run_info,
)

__all__ = [
    "CheckpointError",
    "convert",
    "latest_checkpoint",
    "latest_verified_checkpoint",
    "load_any",
    "load_for_inference",
    "load_official",
    "load_training_state",
    "read_meta",
    "resolve_step_dir",
    "save_checkpoint",
    "verify_checkpoint",
    "write_run_info",
]
