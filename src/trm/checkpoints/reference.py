"""The reference TRM and HRM checkpoint layout (what the hub holds), converted to our models.

A reference checkpoint is ``torch.save(state_dict)`` of the trainer's loss-head wrapper in a file
``step_<N>``, beside ``all_config.yaml`` (architecture under ``arch:``) and, sometimes, the dataset's
``dataset.json``. Keys carry the prefix ``_orig_mod.model.inner.`` (``model.inner.`` without
compilation). The weight names map one to one onto ours (``_NAMES``, ``_BLOCK_PARTS``); the model
math is the same (post-norm blocks, fused gate-first SwiGLU, fused qkv, rotate-half rotary, the same
recursion), so converting is renaming plus dtype: y0/z0 (``H_init``/``L_init``) are stored in bf16
and become fp32 buffers holding the same values. The community's other layouts (``X.pt`` + ``X.yaml``,
Lightning's ``last.ckpt``, DDP prefixes, nested dicts: ``layouts``, ``weights``) hold the same tensors.

Design choices:

- Reading: ``weights`` (memory-mapped, ``weights_only=True``, nested dicts and wrapper prefixes);
  which file and which config: ``layouts`` and ``find_config`` (``all_config.yaml``, else ``X.yaml``
  beside ``X.pt``, else the one YAML of the folder with an ``arch:`` section).
- No silent defaults: without a config file, the tensors give what they show (``model_fields``) and
  the rest (T, n, heads, N_sup, prefix length, halting) must come from ``arch`` (``--arch``,
  ``--arch-config``); the error names exactly the missing keys and the flag.
- What ``all_config.yaml`` lacks comes from the tensors where it can (vocab from the token
  embedding, identifier count from ``puzzle_emb.weights``, seq_len from the MLP-T width), then
  ``dataset.json``, then the caller's ``config``; the task is inferred from (vocab, seq_len) when
  that is unambiguous (``reference_config.TASKS``), else the error says which option to pass.
- A puzzle embedding narrower than ``hidden_size`` (``puzzle_emb_ndim < hidden``) is zero-padded to
  the hidden width: the reference pads the same row with zeros, so the forward pass is unchanged.
  A wider one (several prefix positions) and learned position embeddings are not supported: error.
- The caller's ``config`` (RunConfig or ModelConfig) overrides what is inferred, field by field (only
  the fields it sets); a value that contradicts a tensor's shape is an error naming the tensor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import Tensor, nn

from trm.checkpoints import layouts
from trm.checkpoints.arch_options import DATA_KEYS, flag_hint, read_yaml
from trm.checkpoints.errors import CheckpointError
from trm.checkpoints.reference_config import BLOCK, infer_task, model_fields, shown_by_weights, train_fields
from trm.checkpoints.weights import describe_source, load_state
from trm.config import ConfigError, ModelConfig, RunConfig, build_config
from trm.config import _deep_merge as deep_merge
from trm.data.format import REFERENCE_METADATA_FILE, DatasetMetadata

CONFIG_FILE = "all_config.yaml"
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
# Our ModelConfig names of the arch keys a caller's RunConfig/ModelConfig may set instead.
_OURS = {"H_cycles": "H_cycles", "L_cycles": "L_cycles", "halt_max_steps": "halt_max_steps",
         "num_heads": "num_heads", "puzzle_emb_len": "puzzle_emb_len",
         "no_ACT_continue": "halting"}  # fmt: skip


@dataclass(frozen=True)
class ReferenceFiles:
    weights: Path  # the weights file (see ``layouts`` for the names recognised)
    config: Path | None  # the YAML with its ``arch:`` section
    dataset: Path | None  # dataset.json beside it


def _has_arch(path: Path) -> bool:
    try:
        raw = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return False
    return isinstance(raw, dict) and isinstance(raw.get("arch"), dict)


def find_config(weights: Path) -> Path | None:
    """``all_config.yaml`` beside ``weights``, else ``<stem>.yaml``, else the one YAML with ``arch:``."""
    folder = weights.parent
    for name in (CONFIG_FILE, f"{weights.stem}.yaml", f"{weights.stem}.yml", f"{weights.name}.yaml"):
        if (folder / name).is_file():
            return folder / name
    with_arch = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and _has_arch(p))
    if len(with_arch) > 1:
        names = ", ".join(p.name for p in with_arch)
        raise CheckpointError(
            f"several YAML files with an 'arch:' section beside it ({names}); pass the right one with "
            "--arch-config",
            file=str(weights),
        )
    return with_arch[0] if with_arch else None


def find_reference(path: str | Path, step: int | None = None) -> ReferenceFiles:
    """A weights file, or a folder holding one (``layouts``), with the files that describe it."""
    path = Path(path)
    if path.is_file():
        weights = path
    elif path.is_dir():
        choice = layouts.choose_in(layouts.local_files(path), "", step, str(path))
        weights = path / choice.weights
    else:
        raise CheckpointError("does not exist", file=str(path))
    dataset = weights.parent / REFERENCE_METADATA_FILE
    return ReferenceFiles(weights, find_config(weights), dataset if dataset.is_file() else None)


def is_reference(path: str | Path) -> bool:
    """Whether ``path`` is a file, or a folder with a weights file of a known name directly in it."""
    path = Path(path)
    if path.is_file():
        return True
    if not path.is_dir():
        return False
    try:
        layouts.choose_in(layouts.local_files(path, depth=0), "", None, str(path))
    except CheckpointError as e:
        return "no checkpoint here" not in str(e)
    return True


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
    raw = read_yaml(path) or {}
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


def _missing_error(
    files: ReferenceFiles, where: str, fields: dict[str, Any], missing: list[str]
) -> CheckpointError:
    keys = ", ".join(missing)
    how = f"pass {flag_hint(missing)} or --arch-config FILE (in Python: arch={{...}})"
    if files.config is None:
        looked = f"{CONFIG_FILE}, {files.weights.stem}.yaml or a YAML with an 'arch:' section"
        return CheckpointError(
            f"no config beside it (looked for {looked}); the weights show {shown_by_weights(fields)}; "
            f"the rest is not in the weights: {keys}: {how}",
            file=where,
        )
    return CheckpointError(
        f"{files.config.name} has no arch.{missing[0]} (missing: {keys}): {how}", file=where
    )


def resolve_reference(
    path: str | Path,
    config: RunConfig | ModelConfig | None = None,
    *,
    arch: dict[str, Any] | None = None,
    step: int | None = None,
    label: str | None = None,
) -> tuple[ReferenceFiles, RunConfig, DatasetMetadata, dict[str, Tensor]]:
    """Read a reference checkpoint: its files, the resolved RunConfig and metadata, our state dict.

    ``arch``: ``arch:`` keys (``arch_options``) over the config file's; ``step``: which step of a
    folder of steps; ``label``: the name errors use (the ``hf://`` spec of a download)."""
    files = find_reference(path, step)
    where = label or str(files.weights)
    state, source = load_state(files.weights, where)
    given = _given(config)
    arch = dict(arch or {})
    for key in DATA_KEYS:  # dataset facts given with --arch go where a RunConfig keeps them
        if key in arch:
            value = arch.pop(key)
            if key == "task":
                given["task"] = value
            else:
                given.setdefault("model", {})[key] = int(value)
    raw = _read_yaml(files.config) if files.config is not None else {}
    dataset = _read_dataset(files.dataset)
    arch_cfg = {**raw.get("arch", {}), **arch}
    seq_hint = given.get("model", {}).get("seq_len") or dataset.get("seq_len")
    model, missing = model_fields(
        arch_cfg, state, where, defaults=files.config is not None, seq_len=int(seq_hint) if seq_hint else None
    )
    missing = [k for k in missing if _OURS[k] not in given.get("model", {})]
    if missing:
        raise _missing_error(files, where, model, missing)
    for key in ("seq_len", "num_puzzle_identifiers"):
        if key in dataset and key not in model:
            model[key] = int(dataset[key])
        elif key in dataset and int(dataset[key]) != model[key]:  # e.g. a prefix length that is not the run's
            raise CheckpointError(
                f"the weights imply {key}={model[key]} (prefix {model.get('puzzle_emb_len')}), "
                f"{files.dataset} says {dataset[key]}",
                file=where,
            )
    base = {"name": str(raw.get("run_name") or files.weights.parent.name or "reference"), "model": model}
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
        build={"source": "reference-checkpoint", "checkpoint": where, "weights": describe_source(source),
               "reference_metadata": dataset},
    )  # fmt: skip
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
    path: str | Path,
    config: RunConfig | ModelConfig | None = None,
    *,
    device: str | torch.device = "cpu",
    arch: dict[str, Any] | None = None,
    step: int | None = None,
    label: str | None = None,
) -> tuple[nn.Module, RunConfig, DatasetMetadata]:
    """A reference checkpoint file (or its folder) -> our model with those weights (eval mode), the
    resolved RunConfig and the dataset metadata it was built for (as ``load_for_inference`` returns).
    The weights stay memory-mapped on the CPU (``fast_build``)."""
    from trm.checkpoints.fast_build import build_on_meta, build_with_weights
    from trm.device import pick_device

    files, run_config, metadata, state = resolve_reference(path, config, arch=arch, step=step, label=label)
    where = label or str(files.weights)
    shapes = build_on_meta(run_config, metadata)
    model = build_with_weights(run_config, metadata, fit_state(shapes, state, where), where)
    dev = pick_device(device) if isinstance(device, str) else device
    model.to(dev).eval()
    return model, run_config, metadata
