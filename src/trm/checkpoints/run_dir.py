"""Checkpoints on disk: atomic writes, the ``latest`` pointer, resume state and inference loading.

Layout (agreed between helpers)::

    <out_dir>/config.yaml                 resolved RunConfig
    <out_dir>/checkpoints/step_00000123/  model.safetensors, ema.safetensors (if EMA), state.pt,
                                          config.yaml, meta.json {"trm_version", "step", "epoch", "dataset"}
    <out_dir>/checkpoints/latest          name of the newest complete step dir

Design choices:

- A step dir is written into ``checkpoints/.tmp-...``, every file fsynced, then renamed into place
  (atomic on one file system); ``latest`` is rewritten atomically afterwards. A run killed at any
  moment leaves ``latest`` naming a complete checkpoint. Re-saving an existing step replaces it.
- Weights are safetensors (safe to load from anywhere). ``state.pt`` (optimizers, schedule step,
  loader state, RNG states, the carry) is a pickle read only on ``resume`` of one's own run,
  so it is loaded with ``weights_only=False``; ``load_for_inference`` never reads it.
- ``latest_checkpoint`` falls back to the newest complete step dir when the pointer is missing.
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

from trm.config import RunConfig, load_config_file, save_config
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
        }
        atomic_write_text(tmp / "meta.json", json.dumps(meta, indent=2) + "\n")
        _fsync_dir(tmp)
        old = None
        if final.exists():
            old = root / f".old-{name}-{os.getpid()}"
            os.replace(final, old)
        os.replace(tmp, final)
        _fsync_dir(root)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(root / LATEST, name + "\n")
    return final


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
        raise FileNotFoundError(
            f"{path}: no complete checkpoint (expected a run dir, its checkpoints/ or a step dir)"
        )
    return found


def read_meta(step_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(step_dir) / "meta.json").read_text())


def load_weights(
    step_dir: str | Path, *, use_ema: bool = True, device: str | torch.device = "cpu"
) -> dict[str, Tensor]:
    """The EMA weights when present and asked for, else the raw weights."""
    step_dir = Path(step_dir)
    f = step_dir / "ema.safetensors"
    if not (use_ema and f.is_file()):
        f = step_dir / "model.safetensors"
    return load_file(str(f), device=str(device))


def load_training_state(step_dir: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """``state.pt`` of one's own run (a pickle: never load one from an untrusted source)."""
    f = Path(step_dir) / "state.pt"
    if not f.is_file():
        raise FileNotFoundError(f"{f}: no training state in this checkpoint; it cannot be resumed")
    return torch.load(f, map_location=map_location, weights_only=False)


def load_for_inference(
    path: str | Path, *, device: str | torch.device = "auto", use_ema: bool = True
) -> tuple[nn.Module, RunConfig, DatasetMetadata]:
    """Build the model of a checkpoint and load its (EMA) weights; eval mode on ``device``."""
    from trm.device import pick_device
    from trm.models import build_model

    step_dir = resolve_step_dir(path)
    config = load_config_file(step_dir / "config.yaml")
    meta = read_meta(step_dir)
    metadata = DatasetMetadata.from_dict(meta["dataset"], where=str(step_dir / "meta.json"))
    dev = pick_device(device) if isinstance(device, str) else device
    model = build_model(config, metadata)
    model.load_state_dict(load_weights(step_dir, use_ema=use_ema), strict=True)
    model.to(dev).eval()
    return model, config, metadata
