"""A model with given weights, built without initialising what the weights replace.

Building a model the ordinary way draws every parameter, then ``load_state_dict`` overwrites them:
for an ARC run that is 876,406 x 512 puzzle rows (1.8 GB) initialised and then copied. Here
(``_Shapes``) the shape-only factories (``torch.empty``, ``zeros``, ...: what parameters are made
from) create ``meta`` tensors, which hold no memory, and in-place ops on parameters and meta tensors
(the random initialisation) do nothing; the weights are then taken as the parameters
(``load_state_dict(assign=True)``, so a memory-mapped file stays mapped; ``strict=True`` checks
that every parameter was replaced). Data-making factories (``arange``, ``tensor``) still run on the
CPU, so the buffers a checkpoint does not hold (the rotary tables, derived from the config) are
computed exactly as the constructor computes them. Should one still be left on ``meta``, a copy of
the model with a one-row puzzle table supplies it.

Not ``with torch.device("meta")``: that also sends ``arange`` to meta, whose Python implementation
imports ``torch._dynamo`` (seconds) and leaves the rotary tables empty.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from trm.checkpoints.errors import CheckpointError
from trm.config import RunConfig
from trm.data.format import DatasetMetadata

_SHAPE_ONLY = {torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn, torch.randint}


class _Shapes(TorchFunctionMode):
    """Parameters as shapes, not drawn (see the module docstring); ``meta=False`` keeps the CPU."""

    def __init__(self, meta: bool = True) -> None:
        super().__init__()
        self.meta = meta

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if self.meta and func in _SHAPE_ONLY and kwargs.get("device") is None:
            kwargs["device"] = "meta"
        name = getattr(func, "__name__", "")
        target = args[0] if args else kwargs.get("tensor", kwargs.get("input"))  # nn.init passes tensor=
        if (
            name.endswith("_")
            and not name.startswith("_")
            and isinstance(target, Tensor)
            and (isinstance(target, nn.Parameter) or target.is_meta)
        ):
            return target
        return func(*args, **kwargs)


def _small_copy(config: RunConfig, metadata: DatasetMetadata | None) -> nn.Module:
    from trm.models import build_model

    model = config.model.model_copy(update={"num_puzzle_identifiers": 1 if config.model.puzzle_emb else None})
    small_config = config.model_copy(update={"model": model})
    small_meta = replace(metadata, num_puzzle_identifiers=1) if metadata is not None else None
    with _Shapes(meta=False):
        return build_model(small_config, small_meta)


def build_on_meta(config: RunConfig, metadata: DatasetMetadata | None) -> nn.Module:
    """The model's shapes, with no memory and no initialisation."""
    from trm.models import build_model

    with _Shapes():
        return build_model(config, metadata)


def build_with_weights(
    config: RunConfig, metadata: DatasetMetadata | None, state: dict[str, Tensor], where: str
) -> nn.Module:
    """The model of ``config`` holding exactly ``state`` (every key, every shape; else an error naming
    ``where``), in eval mode on the CPU."""
    model = build_on_meta(config, metadata)
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        reason = " ".join(str(e).split())  # one line: torch lists the missing keys on several
        raise CheckpointError(f"does not fit the model: {reason}", file=where) from None
    derived = [name for name, buf in model.named_buffers() if buf.is_meta]
    if derived:  # non-persistent buffers: recompute them as the constructor does
        own = dict(_small_copy(config, metadata).named_buffers())
        for name in derived:
            owner, _, leaf = name.rpartition(".")
            module = model.get_submodule(owner) if owner else model
            setattr(module, leaf, own[name])  # a registered buffer: replaced in place
    return model.eval()
