"""Reading a weights file of any published layout into a flat state dict, safely and without copies.

Design choices:

- Safety: torch files are read with ``torch.load(weights_only=True)``; anything that needs a Python
  object beyond tensors and plain containers is refused with an error naming the object, never run.
- Memory: the file is memory-mapped (``mmap=True``; safetensors are mapped by their library), so a
  1.8 GB ARC puzzle table costs page-cache pages, not a second copy; the model then takes the
  mapped tensors as its parameters (``fast_build``). Old non-zip torch files cannot be mapped and
  are read whole. The mapping is private (writes to the weights never reach the file), but the file
  must not be truncated or rewritten in place while the model is in use, as with any memory map;
  huggingface_hub and trm replace files by renaming, which is safe.
- Nesting: trainers wrap the weights in dicts. ``unwrap`` looks in the keys the common trainers use
  (``ema``, ``ema_state_dict``, ``model_ema``, then ``model``, ``state_dict``, ``model_state_dict``,
  ``module``; Lightning's ``last.ckpt`` keeps them under ``state_dict``), EMA first, and says which
  it took, since the EMA copy is the one the papers evaluate.
- Prefixes: ``module.`` (DistributedDataParallel), ``_orig_mod.`` (``torch.compile``), ``model.`` and
  ``inner.`` (the reference loss head and model wrappers) are dropped wherever they repeat.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from trm.checkpoints.errors import CheckpointError

PREFIXES = ("module.", "_orig_mod.", "model.", "inner.")
# Where trainers keep the weights inside a checkpoint dict, EMA copies first.
NESTED = ("ema", "ema_state_dict", "model_ema", "state_dict_ema", "model", "state_dict", "model_state_dict",
          "module")  # fmt: skip
_EMA = {"ema", "ema_state_dict", "model_ema", "state_dict_ema"}


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as e:
        if "mmap" not in str(e) and "zip" not in str(e):
            raise
        return torch.load(path, map_location="cpu", weights_only=True)  # legacy format: no mapping


def read_file(path: str | Path, where: str | None = None) -> Any:
    """The object a weights file holds (tensors and plain containers only); errors name ``where``
    (default: the path)."""
    path = Path(path)
    where = where or str(path)
    if path.suffix == ".safetensors":
        from trm.checkpoints.run_dir import read_safetensors

        try:
            return read_safetensors(path)
        except CheckpointError as e:
            raise e.in_file(where) from None
    try:
        return _torch_load(path)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        if found is None:  # not a pickle of known structure at all
            raise CheckpointError("not a readable PyTorch checkpoint", file=where) from None
        raise CheckpointError(
            f"refused: it needs the Python object {found.group(1)} to load, which could run code "
            "(only plain state dicts of tensors are read)",
            file=where,
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, TypeError) as e:  # damaged
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"not a readable PyTorch checkpoint ({first})", file=where) from None


def _is_state(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping)
        and bool(obj)
        and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())
    )


def unwrap(obj: Any, where: str) -> tuple[dict[str, Tensor], str | None]:
    """(the flat state dict inside ``obj``, the key path it came from; None when ``obj`` is one)."""
    if _is_state(obj):
        return dict(obj), None
    if isinstance(obj, Mapping):
        for key in NESTED:
            if key in obj:
                try:
                    state, inner = unwrap(obj[key], where)
                except CheckpointError:
                    continue  # e.g. Lightning's "ema" callback state, not a state dict: try the next key
                return state, key + (f".{inner}" if inner else "")
        tensors = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, Tensor)}
        if tensors:  # weights beside bookkeeping entries (a step counter, a config dict)
            return tensors, None
        keys = ", ".join(sorted(map(str, obj))[:10])
        raise CheckpointError(
            f"holds a dict with no weights trm recognises (keys: {keys}); the weights are looked for "
            f"under {', '.join(NESTED)}",
            file=where,
        )
    raise CheckpointError(f"not a state dict (holds a {type(obj).__name__})", file=where)


def strip_prefix(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Drop the wrapper prefixes (``PREFIXES``) from every key, however they are stacked."""
    out = {}
    for key, value in state.items():
        while key.startswith(PREFIXES):
            key = next(key.removeprefix(p) for p in PREFIXES if key.startswith(p))
        out[key] = value
    return out


def describe_source(source: str | None) -> str:
    """What ``unwrap`` took, for a report line."""
    if source is None:
        return "the file's state dict"
    kind = "EMA weights" if source.split(".")[0] in _EMA else "weights"
    return f"{kind} under {source!r}"


def load_state(path: str | Path, where: str | None = None) -> tuple[dict[str, Tensor], str | None]:
    """(prefix-free state dict of a weights file, where in the file it was)."""
    where = where or str(path)
    state, source = unwrap(read_file(path, where), where)
    return strip_prefix(state), source
