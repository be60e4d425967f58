"""Our checkpoint format on disk: atomic writes, the ``latest`` pointer, resume state, inference loading.

Layout (agreed between helpers)::

    <out_dir>/config.yaml                 resolved RunConfig
    <out_dir>/checkpoints/step_00000123/  model.safetensors, ema.safetensors (if EMA), state.pt,
                                          config.yaml, meta.json {"trm_version", "step", "epoch",
                                          "dataset", "files": {name: {"bytes", "sha256"}}}
    <out_dir>/checkpoints/latest          name of the newest complete step dir

Design choices:

- A step dir is written into ``checkpoints/.tmp-...``, every file fsynced, then renamed into place
  (atomic on one file system); ``latest`` is rewritten atomically afterwards. A run killed at any
  moment leaves ``latest`` naming a complete checkpoint. Re-saving an existing step replaces it.
- Weights are safetensors (safe to load from anywhere). ``state.pt`` (optimizers, schedule step,
  loader state, RNG states, the carry) is a pickle read only on ``resume`` of one's own run,
  so it is loaded with ``weights_only=False``; ``load_for_inference`` never reads it.
- ``latest_checkpoint`` falls back to the newest complete step dir when the pointer is missing;
  ``latest_verified_checkpoint`` (what ``--resume`` uses) also skips step dirs whose files do not
  match the checksums in their ``meta.json`` and says which it skipped and why.
- Loading verifies the files it reads against ``meta.json`` (``verify=False`` skips it) and turns
  an unreadable file into a :class:`CheckpointError` naming it, never a raw library traceback.
- A failed save (an exception anywhere, e.g. a full disk) leaves the previous step dirs and
  ``latest`` as they were, also when it was re-saving an existing step.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from trm.checkpoints.errors import CheckpointError, MissingCheckpointError
from trm.checkpoints.integrity import file_records, verify_files
from trm.config import ConfigError, RunConfig, load_config_file, save_config
from trm.data.format import DatasetMetadata, atomic_write_text

CHECKPOINTS = "checkpoints"
LATEST = "latest"
STEP_DIR = re.compile(r"^step_(\d+)$")


def step_dir_name(step: int) -> str:
    return f"step_{step:08d}"


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # directory fsync is unsupported on some file systems; durability is best effort there
    finally:
        os.close(fd)


def _cpu_tensors(sd: dict[str, Tensor]) -> dict[str, Tensor]:
    """Private contiguous CPU copies (safetensors refuses tensors that share memory)."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in sd.items()}


def save_checkpoint(
    out_dir: str | Path,
    *,
    step: int,
    epoch: float,
    model: nn.Module,
    config: RunConfig,
    metadata: DatasetMetadata,
    ema_state: dict[str, Tensor] | None = None,
    state: dict[str, Any] | None = None,
) -> Path:
    """Write ``checkpoints/step_<step>`` atomically, then point ``latest`` at it. Returns the step dir.

    ``ema_state`` is a full model state dict with averaged parameters (``EMA.model_state_dict``).
    """
    from trm import __version__

    root = Path(out_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    name = step_dir_name(step)
    final = root / name
    tmp = root / f".tmp-{name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        files = [tmp / "model.safetensors"]
        save_file(_cpu_tensors(model.state_dict()), str(files[-1]), metadata={"format": "pt"})
        if ema_state is not None:
            files.append(tmp / "ema.safetensors")
            save_file(_cpu_tensors(ema_state), str(files[-1]), metadata={"format": "pt"})
        if state is not None:
            files.append(tmp / "state.pt")
            torch.save(state, files[-1])
        for f in files:
            _fsync_file(f)
        save_config(config, tmp / "config.yaml")
        meta = {
            "trm_version": __version__,
            "torch_version": torch.__version__,
            "step": step,
            "epoch": epoch,
            "dataset": json.loads(metadata.to_json()),
            "files": file_records(tmp, [f.name for f in files] + ["config.yaml"]),
        }
        atomic_write_text(tmp / "meta.json", json.dumps(meta, indent=2) + "\n")
        _fsync_dir(tmp)
        _replace_dir(tmp, final, root / f".old-{name}-{os.getpid()}")
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(root / LATEST, name + "\n")
    return final


def _replace_dir(new: Path, final: Path, old: Path) -> None:
    """Rename ``new`` to ``final``; an existing ``final`` is moved aside first and put back on failure."""
    if not final.exists():
        os.replace(new, final)
        return
    os.replace(final, old)
    try:
        os.replace(new, final)
    except BaseException:
        os.replace(old, final)
        raise
    shutil.rmtree(old)


def write_run_info(out_dir: str | Path, **info: Any) -> None:
    """``<out_dir>/run.json``: library and torch versions beside the run's config, plus ``info``."""
    from trm import __version__

    record = {"trm_version": __version__, "torch_version": torch.__version__, **info}
    atomic_write_text(Path(out_dir) / "run.json", json.dumps(record, indent=2) + "\n")


def _is_complete(step_dir: Path) -> bool:
    return (step_dir / "meta.json").is_file() and (step_dir / "model.safetensors").is_file()


def latest_checkpoint(path: str | Path) -> Path | None:
    """The newest complete step dir of a run dir (or its ``checkpoints`` dir); None if there is none."""
    path = Path(path)
    root = path if path.name == CHECKPOINTS or (path / LATEST).exists() else path / CHECKPOINTS
    if not root.is_dir():
        return None
    pointer = root / LATEST
    if pointer.is_file():
        candidate = root / pointer.read_text().strip()
        if STEP_DIR.match(candidate.name) and _is_complete(candidate):
            return candidate
    steps = sorted(
        (int(m.group(1)), p) for p in root.iterdir() if (m := STEP_DIR.match(p.name)) and _is_complete(p)
    )
    return steps[-1][1] if steps else None


def resolve_step_dir(path: str | Path) -> Path:
    """A run dir, its checkpoints dir, or one step dir -> the step dir to load."""
    path = Path(path)
    if _is_complete(path):
        return path
    found = latest_checkpoint(path)
    if found is None:
        raise MissingCheckpointError(
            "no complete checkpoint (expected a run dir, its checkpoints/ or a step dir)", file=str(path)
        )
    return found


def read_meta(step_dir: str | Path) -> dict[str, Any]:
    """``meta.json`` of a step dir; unreadable JSON is a :class:`CheckpointError` with line and column."""
    path = Path(step_dir) / "meta.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError("missing: not a complete checkpoint", file=str(path)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        line, col = getattr(e, "lineno", None), getattr(e, "colno", None)
        problem = f"not valid JSON ({getattr(e, 'msg', e)})"
        raise CheckpointError(problem, file=str(path), line=line, column=col) from None
    if not isinstance(meta, dict):
        raise CheckpointError("not a JSON object", file=str(path))
    return meta


def verify_checkpoint(step_dir: str | Path, names: list[str] | None = None) -> None:
    """Check the files of a step dir (or only ``names``) against the sizes and SHA-256 in its meta.json."""
    records = read_meta(step_dir).get("files")
    if records:
        verify_files(step_dir, records, names)


def weights_file(step_dir: str | Path, *, use_ema: bool = True) -> Path:
    """``ema.safetensors`` when present and asked for, else ``model.safetensors``."""
    step_dir = Path(step_dir)
    f = step_dir / "ema.safetensors"
    return f if use_ema and f.is_file() else step_dir / "model.safetensors"


def read_safetensors(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Tensor]:
    """A safetensors file; a truncated or corrupt one is a :class:`CheckpointError` naming it."""
    from safetensors import SafetensorError

    try:
        return load_file(str(path), device=str(device))
    except FileNotFoundError:
        raise MissingCheckpointError("missing", file=str(path)) from None
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"not a readable safetensors file ({e})", file=str(path)) from None


def load_weights(
    step_dir: str | Path, *, use_ema: bool = True, device: str | torch.device = "cpu", verify: bool = True
) -> dict[str, Tensor]:
    """The EMA weights when present and asked for, else the raw weights (checked against meta.json)."""
    f = weights_file(step_dir, use_ema=use_ema)
    if verify:
        verify_checkpoint(step_dir, [f.name])
    return read_safetensors(f, device=device)


def load_training_state(step_dir: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """``state.pt`` of one's own run (a pickle: never load one from an untrusted source)."""
    f = Path(step_dir) / "state.pt"
    if not f.is_file():
        raise MissingCheckpointError(
            "no training state in this checkpoint; it cannot be resumed", file=str(f)
        )
    return torch.load(f, map_location=map_location, weights_only=False)


def latest_verified_checkpoint(path: str | Path) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The newest step dir whose files all match their checksums, and the (step dir, reason) skipped.

    Newest first: the ``latest`` pointer's target, then the other complete step dirs by step.
    """
    path = Path(path)
    root = path if path.name == CHECKPOINTS else path / CHECKPOINTS
    if not root.is_dir():
        return None, []
    candidates = sorted(
        (p for p in root.iterdir() if STEP_DIR.match(p.name) and _is_complete(p)),
        key=lambda p: int(STEP_DIR.match(p.name).group(1)),
        reverse=True,
    )
    pointed = latest_checkpoint(root)
    if pointed in candidates:
        candidates.remove(pointed)
        candidates.insert(0, pointed)
    skipped: list[tuple[Path, str]] = []
    for step_dir in candidates:
        try:
            verify_checkpoint(step_dir)
            _read_config(step_dir)
        except (CheckpointError, ConfigError, OSError) as e:
            skipped.append((step_dir, str(e)))
            continue
        return step_dir, skipped
    return None, skipped


def _read_config(step_dir: Path) -> RunConfig:
    import yaml

    try:
        return load_config_file(step_dir / "config.yaml")
    except yaml.YAMLError as e:
        raise CheckpointError(f"not valid YAML ({e})", file=str(step_dir / "config.yaml")) from None
    except FileNotFoundError:
        where = str(step_dir / "config.yaml")
        raise CheckpointError("missing: not a complete checkpoint", file=where) from None


def load_for_inference(
    path: str | Path, *, device: str | torch.device = "auto", use_ema: bool = True, verify: bool = True
) -> tuple[nn.Module, RunConfig, DatasetMetadata]:
    """Build the model of a checkpoint and load its (EMA) weights; eval mode on ``device``.

    ``verify`` checks the weights and config files against the checksums in meta.json first.
    """
    from trm.checkpoints.fast_build import build_with_weights
    from trm.device import pick_device

    step_dir = resolve_step_dir(path)
    if verify:
        verify_checkpoint(step_dir, [weights_file(step_dir, use_ema=use_ema).name, "config.yaml"])
    config = _read_config(step_dir)
    meta = read_meta(step_dir)
    where = str(step_dir / "meta.json")
    try:
        metadata = DatasetMetadata.from_dict(meta["dataset"], where=where)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"no usable dataset record ({e})", file=where) from None
    dev = pick_device(device) if isinstance(device, str) else device
    # Private copies: the model owns its weights even if the file is rewritten in place later.
    weights = {k: v.clone() for k, v in load_weights(step_dir, use_ema=use_ema, verify=False).items()}
    f = str(weights_file(step_dir, use_ema=use_ema))
    model = build_with_weights(config, metadata, weights, f"{f} (with its config.yaml)")
    model.to(dev).eval()
    return model, config, metadata
