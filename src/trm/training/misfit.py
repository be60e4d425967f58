"""Say why a run's config does not fit a checkpoint's tensors: the ``model.*`` settings that differ.

Design choices:

- Used where loading weights failed (``load_state_dict`` raised on shapes or names), so a setting that
  changes no tensor (e.g. ``model.halt_max_steps``) is never refused; the message names the settings that
  differ from the checkpoint's own ``config.yaml`` and the first tensor that did not fit.
- The result is a :class:`~trm.config.ConfigError`, which the command line prints as one line (exit 2).
"""

from __future__ import annotations

from pathlib import Path

from trm.config import ConfigError, RunConfig, load_config_file


def model_differences(saved: RunConfig, current: RunConfig) -> list[str]:
    """``["model.hidden_size=32 (checkpoint: 16)", ...]`` for every model setting that differs."""
    a, b = saved.model.model_dump(mode="json"), current.model.model_dump(mode="json")
    return [
        f"model.{k}={b.get(k)!r} (checkpoint: {a.get(k)!r})"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]


def misfit_error(step_dir: str | Path, config: RunConfig, error: Exception) -> ConfigError:
    """The error to raise when ``config``'s model cannot load the weights of ``step_dir``."""
    step_dir = Path(step_dir)
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    first = lines[1] if len(lines) > 1 else (lines[0] if lines else type(error).__name__)
    try:
        diffs = model_differences(load_config_file(step_dir / "config.yaml"), config)
    except (ConfigError, OSError):
        diffs = []
    what = f"settings unlike its config.yaml: {', '.join(diffs)}" if diffs else "the model's tensors differ"
    return ConfigError(
        f"{step_dir}: the config does not fit this checkpoint ({what}; first misfit: {first}); "
        "resume with the checkpoint's model settings, or train into a new out_dir"
    )
