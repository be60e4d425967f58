"""One entry point for "any checkpoint": ``load_any(spec)`` -> (model, RunConfig, DatasetMetadata).

A spec is one of

- our run dir, its ``checkpoints/`` dir, or one step dir (``run_dir.load_for_inference``);
- a weights file in a published layout, or a folder holding one (``layouts``: ``step_N`` with any
  prefix and extension, ``checkpoint``, ``X.pt`` beside ``X.yaml``, one ``.ckpt`` ...), read by
  ``reference``; ``path@step=N`` (or ``step=N``) picks one of a folder's steps;
- ``hf://owner/repo[/path][@revision][@step=N]``: the files it needs are downloaded (``hub``) and
  then loaded as above, in place in the hub cache.

Design choices:

- Every command that takes ``--checkpoint`` and ``trm.Solver.load`` call ``load_any``, so they all
  accept the same things and fail with the same :class:`CheckpointError` messages.
- ``arch`` (``--arch key=value,...`` / ``--arch-config FILE``, see ``arch_options``) and ``config``
  (a RunConfig or ModelConfig with only the fields to set) supply what a reference checkpoint lacks.
  Our run dirs record all of it, so either is an error there rather than silently ignored.
- ``convert`` writes a reference checkpoint as a normal run dir (``config.yaml`` + ``checkpoints/``),
  so a converted model is used exactly like a trained one and verified by the same checksums.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from trm.checkpoints import layouts, reference, run_dir
from trm.checkpoints.arch_options import arch_options
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


def reject_config(config: Any, spec: str | Path) -> None:
    if config:
        raise CheckpointError(
            "is a trm run, which records its task and sizes; --arch/--arch-config/--task/--seq-len/"
            "--vocab-size (arch=..., config=...) apply to checkpoints without a trm config only",
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


def _locate(spec: str | Path, step: int | None) -> tuple[Path, bool, str | None, int | None]:
    """(local path, ours?, label for errors, step) of a spec; an ``hf://`` spec is downloaded."""
    text = str(spec)
    if text.startswith(HUB_SCHEME):
        from trm.checkpoints.hub import fetch

        got = fetch(text, step)
        return got.path, got.ours, got.label, None  # the hub chose the step's file already
    if not Path(text).exists():
        text, from_spec = layouts.split_step(text)
        step = layouts.merge_step(from_spec, step, str(spec))
    path = Path(text).expanduser()
    return path, is_ours(path), None, step


def load_any(
    spec: str | Path,
    device: str | torch.device = "auto",
    use_ema: bool = True,
    verify: bool = True,
    config: RunConfig | ModelConfig | None = None,
    *,
    arch: str | dict[str, Any] | None = None,
    arch_config: str | Path | None = None,
    step: int | None = None,
) -> tuple[nn.Module, RunConfig, DatasetMetadata]:
    """Load the model of any checkpoint spec (see the module docstring), in eval mode on ``device``.

    ``verify`` checks our checkpoints' files against their meta.json; other files carry no checksums
    (a hub download is checked by huggingface_hub). ``use_ema`` picks our EMA weights; a reference
    file's dict is searched for EMA weights first (``weights``). ``arch``/``arch_config``: the
    architecture of a checkpoint without a config (``arch_options``); ``step``: one of a folder's."""
    extra = arch_options(arch, arch_config)
    path, ours, label, step = _locate(spec, step)
    if ours:
        reject_config(config or extra, spec)
        if step is not None:
            raise CheckpointError("is a trm run: name its step dir instead of --step", file=str(spec))
        return run_dir.load_for_inference(path, device=device, use_ema=use_ema, verify=verify)
    if not path.exists():
        raise CheckpointError("does not exist", file=str(spec))
    if path.is_dir() and not reference.is_reference(path):
        files = layouts.local_files(path)
        raise layouts.no_checkpoint(files, "", str(spec))
    return reference.load_official(path, config, device=device, arch=extra, step=step, label=label)


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
    arch: str | dict[str, Any] | None = None,
    arch_config: str | Path | None = None,
) -> Path:
    """Write a checkpoint in a published layout (a path or ``hf://`` spec) as our run dir ``out``;
    returns its step dir. ``step`` picks one of a folder's steps; the step dir is numbered by it."""
    extra = arch_options(arch, arch_config)
    path, ours, label, step = _locate(spec, step)
    if ours:
        raise CheckpointError("is already a trm checkpoint: use it as it is", file=str(spec))
    model, run_config, metadata = reference.load_official(
        path, config, device="cpu", arch=extra, step=step, label=label
    )
    weights = Path(metadata.build["checkpoint"]).name if label is None else label.rsplit("/", 1)[-1]
    m = layouts.STEP_NAME.match(weights.split("@")[0])
    number = int(m.group(1)) if m else 0
    out = Path(out)
    run_config = run_config.model_copy(update={"out_dir": str(out)})
    out.mkdir(parents=True, exist_ok=True)
    save_config(run_config, out / "config.yaml")
    return run_dir.save_checkpoint(
        out, step=number, epoch=0.0, model=model, config=run_config, metadata=metadata
    )
