"""Models: TRM, HRM and the direct-prediction baseline, built from a config and a dataset's metadata.

``build_model`` is the one entry point: it fills ``vocab_size``, ``seq_len`` and
``num_puzzle_identifiers`` from the dataset (its metadata, or the train split at ``data.path``) and
dispatches on ``model.arch``. A new architecture adds one builder to ``_BUILDERS``; HRM reuses the
TRM layers and recursion schedule (see ``recursion.py``). Without a dataset, an unset
``num_puzzle_identifiers`` means one shared identifier (row 0), as Sudoku and Maze use.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from trm.config import ModelConfig, RunConfig
from trm.data.format import DatasetMetadata
from trm.errors import ConfigError, MismatchError
from trm.models.carry import Carry, StepOutput
from trm.models.cost import count_parameters, flops_per_step, network_flops
from trm.models.trm import TRM

__all__ = [
    "TRM",
    "Carry",
    "StepOutput",
    "build_model",
    "count_parameters",
    "fill_from_metadata",
    "flops_per_step",
    "network_flops",
]

_FILLED = ("vocab_size", "seq_len", "num_puzzle_identifiers")


def fill_from_metadata(model: ModelConfig, metadata: DatasetMetadata) -> ModelConfig:
    """A copy of ``model`` with the dataset-dependent fields set; a conflicting preset value is an error."""
    updates = {}
    for key in _FILLED:
        value = int(getattr(metadata, key))
        preset = getattr(model, key)
        if preset is not None and preset != value:
            raise MismatchError(f"model.{key}={preset} does not match the dataset's {key}={value}")
        updates[key] = value
    return model.model_copy(update=updates)


def _build_trm(config: ModelConfig) -> nn.Module:
    return TRM(config)


def _build_hrm(config: ModelConfig) -> nn.Module:  # HRM baseline (hrm.py; issue 6)
    from trm.models.hrm import HRM

    return HRM(config)


def _build_direct(config: ModelConfig) -> nn.Module:  # direct-prediction baseline (direct.py; issue 6)
    from trm.models.direct import DirectPredictor

    return DirectPredictor(config)


_BUILDERS: dict[str, Callable[[ModelConfig], nn.Module]] = {
    "trm": _build_trm,
    "hrm": _build_hrm,
    "direct": _build_direct,
}


def build_model(config: RunConfig | ModelConfig, metadata: DatasetMetadata | None = None) -> nn.Module:
    """Build the model of ``config`` for a dataset; ``model.config`` is the filled ModelConfig."""
    model_config = config.model if isinstance(config, RunConfig) else config
    needs_data = model_config.seq_len is None or model_config.vocab_size is None
    if metadata is None and needs_data and isinstance(config, RunConfig) and config.data.path:
        from trm.data.format import open_split

        metadata = open_split(config.data.path, config.data.train_split).metadata
    if metadata is not None:
        model_config = fill_from_metadata(model_config, metadata)
    d, heads = model_config.hidden_size, model_config.num_heads
    if model_config.mixer == "attention" and d % heads:
        raise ConfigError(f"model.hidden_size={d} is not divisible by model.num_heads={heads}")
    builder = _BUILDERS.get(model_config.arch)
    if builder is None:
        raise NotImplementedError(
            f"model.arch={model_config.arch!r} is not implemented yet (known: {sorted(_BUILDERS)})"
        )
    return builder(model_config)
