"""The trainer's checkpoints: writing its whole state at a step, and resuming a run from it.

Design choices:

- A checkpoint (:mod:`trm.checkpoints.run_dir`: the folder, the weights, ``meta.json``) carries the
  training state beside the weights: the step, both optimizers, the loader position, the training
  seconds so far, the world size, and per rank its carry and RNG states (gathered to rank 0). With the
  same seed and device the resumed run equals the uninterrupted one bit for bit.
- Resume takes the newest checkpoint whose files match the checksums in its ``meta.json``; each one
  passed over is said on stderr even without progress output (a checkpoint was lost), and none that
  verifies is an error. A checkpoint of another number of ranks, or without the EMA weights a run
  with ``train.ema`` needs, is refused.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from tqdm.auto import tqdm

from trm.checkpoints import run_dir as ckpt
from trm.checkpoints.errors import CheckpointError
from trm.config import ConfigError
from trm.training import distributed as dist
from trm.training.rng import rng_state, set_rng_state

if TYPE_CHECKING:
    from trm.training.loop import Trainer


def newest_verified(out_dir: Path, *, is_main: bool) -> Path:
    """The newest checkpoint of ``out_dir`` that verifies (those passed over are said by rank 0)."""
    found, skipped = ckpt.latest_verified_checkpoint(out_dir)  # checksums of meta.json
    for step_dir, reason in skipped:  # said even without progress output: a checkpoint was lost
        if is_main:
            tqdm.write(f"resume: skipped {step_dir.name}, it does not verify: {reason}", file=sys.stderr)
    if found is None:
        raise CheckpointError(
            f"none of the {len(skipped)} checkpoints verifies; nothing to resume from",
            file=str(out_dir / "checkpoints"),
        )
    return found


def _rank_state(trainer: Trainer) -> dict[str, Any]:
    """What each rank keeps of its own: its carry (on the CPU) and RNG states."""
    carry = (
        None if trainer.carry is None else {k: v.detach().cpu() for k, v in trainer.carry.to_dict().items()}
    )
    return {"carry": carry, "rng": rng_state()}


def save(trainer: Trainer) -> Path | None:
    """Checkpoint the trainer's current step (collective in multi-process runs: every rank calls it);
    sets and returns ``trainer.last_checkpoint``."""
    info = trainer.info
    ranks = [_rank_state(trainer)]
    if info.enabled:
        gathered: list[Any] | None = [None] * info.world_size if info.is_main else None
        torch.distributed.gather_object(ranks[0], gathered, dst=0)
        ranks = gathered or []
    if info.is_main:
        state = {
            "step": trainer.step,
            "optimizer": trainer.opt.state_dict(),
            "sparse_optimizer": trainer.sparse_opt.state_dict() if trainer.sparse_opt else None,
            "loader": trainer.loader.state_dict(),
            "training_seconds": trainer._seconds(),
            "world_size": info.world_size,
            "ranks": ranks,
        }
        ema = trainer.ema
        trainer.last_checkpoint = ckpt.save_checkpoint(
            trainer.out_dir,
            step=trainer.step,
            epoch=trainer.epoch,
            model=trainer.model,
            config=trainer.config,
            metadata=trainer.train_split.metadata,
            ema_state=ema.model_state_dict(trainer.model) if ema else None,
            state=state,
        )
    dist.barrier(info)
    trainer.last_saved_step = trainer.step
    return trainer.last_checkpoint


def restore(trainer: Trainer, step_dir: Path) -> None:
    """Load the checkpoint ``step_dir`` into the trainer: weights, EMA, optimizers, loader position,
    step, training seconds, and this rank's carry and RNG states."""
    from safetensors.torch import load_file

    from trm.models.carry import Carry

    state = ckpt.load_training_state(step_dir)
    info, device = trainer.info, trainer.device
    if state["world_size"] != info.world_size:
        raise ConfigError(
            f"{step_dir} was written by {state['world_size']} ranks; resume with the same number"
        )
    weights = load_file(str(step_dir / "model.safetensors"), device=str(device))
    try:
        trainer.model.load_state_dict(weights)
    except RuntimeError as e:  # names or shapes differ: the config does not fit the checkpoint
        from trm.training.misfit import misfit_error

        raise misfit_error(step_dir, trainer.config, e) from None
    if trainer.ema is not None:
        ema_file = step_dir / "ema.safetensors"
        if not ema_file.is_file():
            raise ConfigError(f"{step_dir} has no EMA weights but train.ema is true")
        ema_sd = load_file(str(ema_file), device=str(device))
        trainer.ema.load_state_dict({n: ema_sd[n] for n in trainer.ema.names})
    trainer.opt.load_state_dict(state["optimizer"])
    if trainer.sparse_opt is not None:
        trainer.sparse_opt.load_state_dict(state["sparse_optimizer"])
    try:
        trainer.loader.load_state_dict(state["loader"])
    except ValueError as e:  # another seed, dataset or data.order than the checkpoint's
        raise ConfigError(f"{step_dir}: {e}; resume with the settings it was written with") from None
    trainer.step = int(state["step"])
    trainer.seconds_before = float(state["training_seconds"])
    mine = state["ranks"][info.rank]
    trainer.carry = None if mine["carry"] is None else Carry.from_dict(mine["carry"]).to(device)
    set_rng_state(mine["rng"])
    trainer.last_checkpoint, trainer.last_saved_step = step_dir, trainer.step
