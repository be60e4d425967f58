"""A model with given weights, built without initialising what the weights replace.

Building a model the ordinary way draws every parameter, then ``load_state_dict`` overwrites them:
for an ARC run that is 876,406 x 512 puzzle rows (1.8 GB) initialised and then copied. Here the
model is built on the ``meta`` device (shapes only, no memory, no random draws), the weights are
taken as its parameters (``load_state_dict(assign=True)``: a memory-mapped file stays mapped), and
the buffers a checkpoint does not hold (the rotary tables, derived from the config) are computed by
a copy of the model with a one-row puzzle table, which costs milliseconds.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor, nn

from trm.checkpoints.errors import CheckpointError
from trm.config import RunConfig
from trm.data.format import DatasetMetadata


def _small_copy(config: RunConfig, metadata: DatasetMetadata | None) -> nn.Module:
    from trm.models import build_model

    model = config.model.model_copy(update={"num_puzzle_identifiers": 1 if config.model.puzzle_emb else None})
    small_config = config.model_copy(update={"model": model})
    small_meta = replace(metadata, num_puzzle_identifiers=1) if metadata is not None else None
    return build_model(small_config, small_meta)


def build_with_weights(
    config: RunConfig, metadata: DatasetMetadata | None, state: dict[str, Tensor], where: str
) -> nn.Module:
    """The model of ``config`` holding exactly ``state`` (every key, every shape; else an error naming
    ``where``), in eval mode on the CPU."""
    from trm.models import build_model

    with torch.device("meta"):
        model = build_model(config, metadata)
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        raise CheckpointError(f"does not fit the model: {e}", file=where) from None
    derived = [name for name, buf in model.named_buffers() if buf.is_meta]
    if derived:  # non-persistent buffers: recompute them as the constructor does
        own = dict(_small_copy(config, metadata).named_buffers())
        for name in derived:
            owner, _, leaf = name.rpartition(".")
            module = model.get_submodule(owner) if owner else model
            setattr(module, leaf, own[name])  # a registered buffer: replaced in place
    return model.eval()
