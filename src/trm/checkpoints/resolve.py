"""One entry point for "any checkpoint": ``load_any(spec)`` -> (model, RunConfig, DatasetMetadata).

A spec is one of

- our run dir, its ``checkpoints/`` dir, or one step dir (``run_dir.load_for_inference``);
- a reference ``step_N`` file, or a folder holding one with its ``all_config.yaml`` (``reference``);
- ``hf://owner/repo[/subfolder][@revision]``: downloaded with huggingface_hub (``hub``), then one of
  the above; a reference checkpoint from the hub is converted once into a cached run dir.

Design choices:

- Every command that takes ``--checkpoint`` and ``trm.Solver.load`` call ``load_any``, so they all
  accept the same things and fail with the same :class:`CheckpointError` messages.
- ``config`` (a RunConfig or ModelConfig with only the fields to set) supplies what a reference
  checkpoint lacks (task, seq_len...). Our run dirs record all of it, so ``config`` is an error there
  rather than silently ignored.
- ``convert`` writes a reference checkpoint as a normal run dir (``config.yaml`` + ``checkpoints/``),
  so a converted model is used exactly like a trained one and verified by the same checksums.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from trm.checkpoints import reference, run_dir
from trm.checkpoints.errors import CheckpointError
from trm.config import ModelConfig, RunConfig, save_config
from trm.data.format import DatasetMetadata

HUB_SCHEME = "hf://"


def is_ours(path: Path) -> bool:
    """A run dir, its ``checkpoints/`` dir, or a complete step dir of our format."""
    if not path.is_dir():
        return False
    if (path / "meta.json").is_file() and (path / "model.safetensors").is_file():
        return True
    return run_dir.latest_checkpoint(path) is not None


def local_path(spec: str | Path, config: RunConfig | ModelConfig | None = None) -> Path:
    """The local folder or file a spec names (an ``hf://`` spec is downloaded, and converted if needed)."""
    text = str(spec)
    if text.startswith(HUB_SCHEME):
        from trm.checkpoints.hub import local_checkpoint

        return local_checkpoint(text, config)
    return Path(text).expanduser()


def reject_config(config: RunConfig | ModelConfig | None, spec: str | Path) -> None:
    if config is not None:
        raise CheckpointError(
            "is a trm run, which records its task and sizes; --task/--seq-len/--vocab-size "
            "(config=...) apply to reference checkpoints only",
            file=str(spec),
        )


def reference_options(
    task: str | None = None, seq_len: int | None = None, vocab_size: int | None = None
) -> RunConfig | None:
    """The ``--task/--seq-len/--vocab-size`` options as a partial RunConfig (None when none is given)."""
    model = {k: v for k, v in (("seq_len", seq_len), ("vocab_size", vocab_size)) if v is not None}
    if task is None and not model:
        return None
    return RunConfig.model_validate(
        {**({"task": task} if task else {}), **({"model": model} if model else {})}
    )


def load_any(
    spec: str | Path,
    device: str | torch.device = "auto",
    use_ema: bool = True,
    verify: bool = True,
    config: RunConfig | ModelConfig | None = None,
) -> tuple[nn.Module, RunConfig, DatasetMetadata]:
    """Load the model of any checkpoint spec (see the module docstring), in eval mode on ``device``.

    ``verify`` checks our checkpoints' files against their meta.json; reference files carry no checksums
    (a hub download is checked by huggingface_hub). ``use_ema`` picks our EMA weights; a reference
    checkpoint holds one set (the EMA copy when its run used EMA)."""
    if str(spec).startswith(HUB_SCHEME):  # downloaded, and converted with ``config`` when reference
        path = local_path(spec, config)
        return run_dir.load_for_inference(path, device=device, use_ema=use_ema, verify=verify)
    path = local_path(spec)
    if is_ours(path):
        reject_config(config, spec)
        return run_dir.load_for_inference(path, device=device, use_ema=use_ema, verify=verify)
    if not path.exists():
        raise CheckpointError("does not exist", file=str(spec))
    if not reference.is_reference(path):
        raise CheckpointError(
            "no checkpoint here (expected a run dir, a step dir, a reference step_<N> file or folder, "
            "or hf://owner/repo)",
            file=str(spec),
        )
    return reference.load_official(path, config, device=device)


def describe(spec: str | Path) -> str:
    """What a local spec resolves to, for reports: the step dir of our runs, else the spec itself."""
    path = Path(str(spec))
    if not str(spec).startswith(HUB_SCHEME) and is_ours(path):
        return str(run_dir.resolve_step_dir(path))
    return str(spec)


def convert(
    spec: str | Path,
    out: str | Path,
    config: RunConfig | ModelConfig | None = None,
    *,
    step: int | None = None,
) -> Path:
    """Write a reference checkpoint (a local path) as our run dir ``out``; returns its step dir."""
    path = local_path(spec)
    if is_ours(path):
        raise CheckpointError("is already a trm checkpoint: use it as it is", file=str(spec))
    model, run_config, metadata = reference.load_official(path, config, device="cpu")
    if step is None:
        m = re.match(r"^step_(\d+)$", reference.find_reference(path).weights.name)
        step = int(m.group(1)) if m else 0
    out = Path(out)
    run_config = run_config.model_copy(update={"out_dir": str(out)})
    out.mkdir(parents=True, exist_ok=True)
    save_config(run_config, out / "config.yaml")
    return run_dir.save_checkpoint(
        out, step=step, epoch=0.0, model=model, config=run_config, metadata=metadata
    )
