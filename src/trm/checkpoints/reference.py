"""The reference TRM and HRM checkpoint layout (what the hub holds), converted to our models.

A reference checkpoint is ``torch.save(state_dict)`` of the trainer's loss-head wrapper in a file
``step_<N>``, beside ``all_config.yaml`` (architecture under ``arch:``) and, sometimes, the dataset's
``dataset.json``. Keys carry the prefix ``_orig_mod.model.inner.`` (``model.inner.`` without
compilation). The weight names map one to one onto ours (``_NAMES``, ``_BLOCK_PARTS``); the model
math is the same (post-norm blocks, fused gate-first SwiGLU, fused qkv, rotate-half rotary, the same
recursion), so converting is renaming plus dtype: y0/z0 (``H_init``/``L_init``) are stored in bf16
and become fp32 buffers holding the same values.

Design choices:

- Safety: the file is read with ``torch.load(weights_only=True)`` (or safetensors); anything that
  needs more than tensors to unpickle is refused with an error naming the file, never executed.
- What ``all_config.yaml`` lacks comes from the tensors where it can (vocab from the token
  embedding, identifier count from ``puzzle_emb.weights``, seq_len from the MLP-T width), then
  ``dataset.json``, then the caller's ``config``; the task is inferred from (vocab, seq_len) when
  that is unambiguous (``_TASKS``), else the error says which option to pass.
- A puzzle embedding narrower than ``hidden_size`` (``puzzle_emb_ndim < hidden``) is zero-padded to
  the hidden width: the reference pads the same row with zeros, so the forward pass is unchanged.
  A wider one (several prefix positions) and learned position embeddings are not supported: error.
- The caller's ``config`` (RunConfig or ModelConfig) overrides what is inferred, field by field (only
  the fields it sets); a value that contradicts a tensor's shape is an error naming the tensor.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import Tensor, nn

from trm.checkpoints.errors import CheckpointError
from trm.checkpoints.reference_config import BLOCK, infer_task, model_fields, train_fields
from trm.config import ConfigError, ModelConfig, RunConfig, build_config
from trm.config import _deep_merge as deep_merge
from trm.data.format import REFERENCE_METADATA_FILE, DatasetMetadata

CONFIG_FILE = "all_config.yaml"
_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")
STEP_FILE = re.compile(r"^step_(\d+)$")
_PREFIXES = ("_orig_mod.", "model.", "inner.")
_NAMES = {
    "H_init": "y0",
    "L_init": "z0",
    "embed_tokens.embedding_weight": "embed.tokens.weight",
    "puzzle_emb.weights": "embed.puzzle.weight",
    "lm_head.weight": "lm_head.weight",
    "q_head.weight": "q_head.weight",
    "q_head.bias": "q_head.bias",
}
_BLOCK_PARTS = {
    "mlp_t.gate_up_proj.weight": "mix.mlp.gate_up.weight",
    "mlp_t.down_proj.weight": "mix.mlp.down.weight",
    "self_attn.qkv_proj.weight": "mix.qkv.weight",
    "self_attn.o_proj.weight": "mix.out.weight",
    "mlp.gate_up_proj.weight": "mlp.gate_up.weight",
    "mlp.down_proj.weight": "mlp.down.weight",
}


@dataclass(frozen=True)
class ReferenceFiles:
    weights: Path  # step_<N>, ``checkpoint``, or one .pt/.pth/.bin/.safetensors file in the reference layout
    config: Path | None  # all_config.yaml beside it
    dataset: Path | None  # dataset.json beside it


def find_reference(path: str | Path) -> ReferenceFiles:
    """A weights file, or a folder holding one (the highest ``step_N``, else ``checkpoint``, else the
    only .pt/.pth/.bin/.safetensors file), with its neighbours."""
    path = Path(path)
    if path.is_file():
        weights = path
    elif path.is_dir():
        steps = sorted((int(m.group(1)), p) for p in path.iterdir() if (m := STEP_FILE.match(p.name)))
        others = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
        if steps:
            weights = steps[-1][1]
        elif (path / "checkpoint").is_file():  # the name the HRM authors' hub repositories use
            weights = path / "checkpoint"
        elif len(others) == 1:
            weights = others[0]
        else:
            raise CheckpointError(
                "no checkpoint here (expected a run dir, a step dir, or a reference step_<N> file)",
                file=str(path),
            )
    else:
        raise CheckpointError("does not exist", file=str(path))
    folder = weights.parent
    config, dataset = folder / CONFIG_FILE, folder / REFERENCE_METADATA_FILE
    return ReferenceFiles(
        weights, config if config.is_file() else None, dataset if dataset.is_file() else None
    )


def is_reference(path: str | Path) -> bool:
    """Whether ``path`` is a reference ``step_N`` file, or a folder holding one or an ``all_config.yaml``."""
    path = Path(path)
    if path.is_file():
        return bool(STEP_FILE.match(path.name)) or (path.parent / CONFIG_FILE).is_file()
    return path.is_dir() and (
        (path / CONFIG_FILE).is_file() or any(STEP_FILE.match(p.name) and p.is_file() for p in path.iterdir())
    )


def safe_load_state(path: str | Path) -> dict[str, Tensor]:
    """A state dict of tensors from a torch file (``weights_only=True``) or a safetensors file."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from trm.checkpoints.run_dir import read_safetensors

        return read_safetensors(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        if found is None:  # not a pickle of known structure at all
            raise CheckpointError("not a readable PyTorch checkpoint", file=str(path)) from None
        raise CheckpointError(
            f"refused: it needs the Python object {found.group(1)} to load, which could run code "
            "(only plain state dicts of tensors are read)",
            file=str(path),
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"not a readable PyTorch checkpoint ({first})", file=str(path)) from None
    if not isinstance(obj, Mapping) or not all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()
    ):
        raise CheckpointError("not a state dict (a mapping of names to tensors)", file=str(path))
    return dict(obj)


def strip_prefix(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Drop the wrapper prefixes ``_orig_mod.``, ``model.``, ``inner.`` (each where present)."""
    out = {}
    for key, value in state.items():
        for prefix in _PREFIXES:
            key = key.removeprefix(prefix)
        out[key] = value
    return out


def rename(state: Mapping[str, Tensor], arch: str, where: str = "checkpoint") -> dict[str, Tensor]:
    """Reference names (prefix stripped) -> our names; values as float32. Unknown keys: error."""
    modules = {"L_level": "net", "H_level": "net_y"} if arch == "hrm" else {"L_level": "net"}
    out, unknown = {}, []
    for key, value in state.items():
        name = _NAMES.get(key)
        if name is None and (m := BLOCK.match(key)) and m.group(1) in modules and m.group(3) in _BLOCK_PARTS:
            name = f"{modules[m.group(1)]}.blocks.{m.group(2)}.{_BLOCK_PARTS[m.group(3)]}"
        if name is None:
            unknown.append(key)
            continue
        out[name] = value.detach().to(torch.float32)  # fp32 tensors as they are: no copy of a 2 GB ARC table
    if unknown:
        hint = (
            " (learned position embeddings are not supported)"
            if "embed_pos.embedding_weight" in unknown
            else ""
        )
        raise CheckpointError(f"weights trm does not know for {arch}: {sorted(unknown)}{hint}", file=where)
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise CheckpointError(
            f"invalid YAML: {getattr(e, 'problem', e)}", file=str(path), line=line, column=col
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("arch", {}), dict):
        raise CheckpointError("expected a mapping with an 'arch:' section", file=str(path))
    return raw


def _read_dataset(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    import json

    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(
            f"not valid JSON ({e.msg})", file=str(path), line=e.lineno, column=e.colno
        ) from None
    if not isinstance(raw, dict):
        raise CheckpointError("not a JSON object", file=str(path))
    return raw


def _given(config: RunConfig | ModelConfig | None) -> dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, ModelConfig):
        return {"model": config.model_dump(mode="json", exclude_unset=True)}
    return config.model_dump(mode="json", exclude_unset=True)


def resolve_reference(
    path: str | Path, config: RunConfig | ModelConfig | None = None
) -> tuple[ReferenceFiles, RunConfig, DatasetMetadata, dict[str, Tensor]]:
    """Read a reference checkpoint: its files, the resolved RunConfig and metadata, our state dict."""
    files = find_reference(path)
    where = str(files.weights)
    state = strip_prefix(safe_load_state(files.weights))
    given = _given(config)
    if files.config is None and not given.get("model"):
        raise CheckpointError(
            f"no {CONFIG_FILE} beside it: pass a config (RunConfig or ModelConfig) with the architecture",
            file=where,
        )
    raw = _read_yaml(files.config) if files.config is not None else {}
    dataset = _read_dataset(files.dataset)
    model = model_fields(raw.get("arch", {}), state, where)
    for key in ("seq_len", "num_puzzle_identifiers"):
        if key in dataset and key not in model:
            model[key] = int(dataset[key])
        elif key in dataset and int(dataset[key]) != model[key]:  # e.g. a prefix length that is not the run's
            raise CheckpointError(
                f"the weights imply {key}={model[key]} (prefix {model.get('puzzle_emb_len')}), "
                f"{files.dataset} says {dataset[key]}",
                file=where,
            )
    base = {"name": str(raw.get("run_name") or Path(where).parent.name or "reference"), "model": model}
    base["train"] = train_fields(raw)
    merged = deep_merge(base, given)
    for key in ("vocab_size", "seq_len", "num_puzzle_identifiers", "hidden_size"):
        if key in model and merged["model"].get(key) != model[key]:
            raise CheckpointError(
                f"the checkpoint has {key}={model[key]}, the options/config say {merged['model'].get(key)}",
                file=where,
            )
    m = merged["model"]
    task, seq_len, grid = infer_task(m["vocab_size"], m.get("seq_len"), merged.get("task"), where)
    m["seq_len"] = seq_len
    m.setdefault("num_puzzle_identifiers", int(dataset.get("num_puzzle_identifiers", 1)))
    merged["task"] = task
    merged.setdefault("out_dir", f"runs/{merged['name']}")
    try:
        run_config = build_config(merged, where=str(files.config or where))
    except ConfigError as e:
        raise CheckpointError(str(e), file=where) from None
    metadata = DatasetMetadata(
        task=task,
        vocab_size=m["vocab_size"],
        seq_len=seq_len,
        grid_shape=grid,
        num_puzzle_identifiers=m["num_puzzle_identifiers"],
        pad_id=int(dataset.get("pad_id", 0)),
        ignore_label_id=dataset.get("ignore_label_id", 0),
        build={"source": "reference-checkpoint", "checkpoint": where, "reference_metadata": dataset},
    )
    return files, run_config, metadata, rename(state, run_config.model.arch, where)


def fit_state(model: nn.Module, state: dict[str, Tensor], where: str) -> dict[str, Tensor]:
    """Check ``state`` key by key against ``model`` (zero-padding a narrow puzzle embedding)."""
    expected = model.state_dict()
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        raise CheckpointError(f"does not fit the model: missing {missing}, unexpected {extra}", file=where)
    out = {}
    for name, value in state.items():
        want = expected[name].shape
        if name == "embed.puzzle.weight" and value.shape[0] == want[0] and value.shape[1] < want[1]:
            value = torch.nn.functional.pad(value, (0, want[1] - value.shape[1]))
        if value.shape != want:
            raise CheckpointError(
                f"{name}: shape {list(value.shape)}, the model needs {list(want)}", file=where
            )
        out[name] = value
    return out


def load_official(
    path: str | Path, config: RunConfig | ModelConfig | None = None, *, device: str | torch.device = "cpu"
) -> tuple[nn.Module, RunConfig, DatasetMetadata]:
    """A reference ``step_N`` file (or its folder) -> our model with those weights (eval mode), the
    resolved RunConfig and the dataset metadata it was built for (as ``load_for_inference`` returns)."""
    from trm.device import pick_device
    from trm.models import build_model

    files, run_config, metadata, state = resolve_reference(path, config)
    model = build_model(run_config, metadata)
    model.load_state_dict(fit_state(model, state, str(files.weights)), strict=True)
    dev = pick_device(device) if isinstance(device, str) else device
    model.to(dev).eval()
    return model, run_config, metadata
