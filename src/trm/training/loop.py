"""The deep-supervision trainer: ``train(config) -> TrainResult``.

Design choices (the TRM paper's training recipe, arXiv 2510.04871, and its reference code):

- The carry persists across optimizer steps. Each step = ONE model call (one supervision step) on a
  fresh loader batch: slots that halted at the previous step take their rows of that batch (fresh
  y0, z0), the others keep their puzzle and state. So the loader advances one global batch per step,
  an epoch is ``examples_per_epoch / global_batch_size`` steps, and the run is
  ``floor(epochs * examples_per_epoch / global_batch_size)`` steps (or ``train.max_steps``).
- Per step: forward under ``trm.device.autocast``, loss (``trm.training.losses``), backward, gradient
  all-reduce across ranks, Adam-atan2 (or AdamW) on the weights and sign-SGD on the puzzle-embedding
  rows of the batch, both following the warm-up + cosine schedule, then the EMA update.
- No host sync per step: metric sums stay on the device and are read every ``log_every`` steps.
- Evaluation (rank 0, EMA weights, RNG preserved so it never changes training) every
  ``eval_interval`` epochs and at the end. Checkpoints every ``checkpoint_every`` steps, at each
  evaluation and at the end. Stops at the step budget, the wall-clock budget (``max_minutes``: then
  the cosine follows the spent fraction of the budget, since the step count is unknown), or on
  SIGINT/SIGTERM: the step in flight finishes, a checkpoint is written, ``TrainingInterrupted`` is
  raised. A second signal interrupts at once (the last complete checkpoint stays usable).
- ``resume=True`` restores weights, EMA, optimizers, schedule step, loader position, RNG states and
  the carry of every rank: same seed + device -> the interrupted-and-resumed run equals the
  uninterrupted one bit for bit (tested on CPU). A fresh run refuses an out_dir with checkpoints.
  On the CPU the thread count can change the order of large parallel reductions: ``train.threads``
  (default ``auto``, ``trm.threads``: measured and changed while training) fixed to a count makes the
  bits independent of the machine's load.
- ``train.target_accuracy``: the eval split (a validation split, ``trm quickstart``) is evaluated every
  ``target_every`` steps from half the planned steps (or half of ``max_minutes``, whichever comes
  first) on; the run stops when it reaches the target, or goes on past its planned steps (at the final
  lr) up to ``target_max_steps`` while it has not. The stop rules: ``trm.training.stop_rules``.
- The parts: ``run_data`` (splits, task evaluator), ``run_checkpoint`` (save, resume), ``metric_window``
  (the log lines' sums), ``step_threads`` (``train.threads``), ``stop_rules``.
- Multi-process (torchrun): see ``trm.training.distributed``; signals and the time budget are acted
  on at log steps there, so all ranks stop at the same step.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from trm.checkpoints import run_dir as ckpt
from trm.config import ConfigError, RunConfig, save_config
from trm.device import autocast, pick_device, pick_dtype
from trm.training import distributed as dist
from trm.training import run_checkpoint
from trm.training.ema import EMA
from trm.training.logging import MetricsLogger, NullLogger, truncate_metrics
from trm.training.losses import deep_supervision_loss
from trm.training.metric_window import MetricWindow, bar_postfix
from trm.training.optim import build_optimizers, lr_factor, set_lr, total_steps
from trm.training.rng import preserved_rng, seed_everything
from trm.training.run_data import open_splits, task_evaluator
from trm.training.step_threads import StepThreads
from trm.training.stop_rules import over_budget, stop_reason, target_check_due
from trm.training.stopping import StopSignals, TrainingInterrupted


@dataclass
class TrainResult:
    out_dir: Path
    step: int  # optimizer steps taken
    epoch: float
    metrics: dict[str, float] = field(default_factory=dict)  # final evaluation ({} if none ran)
    checkpoint: Path | None = None  # the last checkpoint written
    stopped: str = ""  # why it stopped: "max_steps", "target_accuracy", ... (trm.training.stop_rules)


def _compiled(model: torch.nn.Module) -> torch.nn.Module:
    """The model with its recursion network(s) (``net``, and ``net_y`` where there is one) compiled in
    place (``nn.Module.compile``): that is where the compute is (T(n+1) calls per supervision step), and
    a network is one dense function of one ``[B, P+L, D]`` tensor, so it compiles without graph breaks,
    one graph per grad mode. The rest stays eager: the sparse puzzle embedding (inductor cannot trace
    sparse gradients), the carry's slot resets (whose strides change on the first call and would
    recompile a whole-model graph), the heads. Parameter names do not change (no ``_orig_mod.``)."""
    for name in ("net", "net_y"):
        net = getattr(model, name, None)
        if isinstance(net, torch.nn.Module):
            net.compile()
    return model


class Trainer:
    """Holds the run's state; ``train()`` is the public entry point."""

    def __init__(self, config: RunConfig, *, resume: bool = False, progress: bool = True):
        from trm.models import build_model

        tc = config.train
        self.train_split, self.eval_split = open_splits(config)
        device = pick_device(tc.device)
        self.info = dist.init_distributed(device)
        self.device = dist.rank_device(device, self.info)
        self.dtype = pick_dtype(self.device, tc.dtype)
        self.progress = progress and self.info.is_main
        self.threads = StepThreads(tc.threads, self.device.type, self._say)
        self.out_dir = Path(config.out_dir)
        if tc.target_accuracy is not None and self.info.enabled:
            raise ConfigError("train.target_accuracy needs a single-process run (rank 0 alone evaluates)")
        if tc.global_batch_size % self.info.world_size:
            raise ConfigError(
                f"train.global_batch_size={tc.global_batch_size} is not divisible by "
                f"{self.info.world_size} ranks"
            )

        existing = ckpt.latest_checkpoint(self.out_dir)
        if existing is not None and not resume:
            raise ConfigError(
                f"out_dir={self.out_dir} already holds checkpoints ({existing.name}); "
                "pass --resume (resume=True) to continue it, or choose another out_dir"
            )

        seed_everything(tc.seed)
        model = build_model(config, self.train_split.metadata).to(self.device)
        model.train()
        dist.broadcast_module(model, self.info)
        if self.info.enabled:
            seed_everything(tc.seed + 1_000_003 * self.info.rank)  # ranks explore independently
        self.model = model
        if tc.compile:
            _compiled(model)  # in place: self.model is the compiled model
        filled = getattr(model, "config", None)
        self.config = config.model_copy(update={"model": filled}) if filled is not None else config

        self.opt, self.sparse_opt, self.dense_params, self.emb_params = build_optimizers(model, tc)
        self.ema = EMA(model, tc.ema_rate, warmup=tc.ema_warmup) if tc.ema else None

        from trm.data.loader import TrainLoader

        self.loader = TrainLoader(
            self.train_split,
            tc.global_batch_size,
            seed=tc.seed,
            rank=self.info.rank,
            world_size=self.info.world_size,
            prefetch=2 if self.device.type == "cuda" else 0,
            order=self.config.data.order,
        )
        self.total = total_steps(
            tc.epochs, self.loader.examples_per_epoch, tc.global_batch_size, tc.max_steps
        )
        self.step, self.carry, self.seconds_before = 0, None, 0.0
        self.last_checkpoint: Path | None = None
        self.last_saved_step = -1
        self.evaluator = task_evaluator(self.config, self.eval_split)  # the task's own (ARC: voting), or None
        self.last_eval: tuple[int, dict[str, float]] | None = None  # (step, metrics) of the newest evaluation
        self.on_log: Any = None  # called as on_log(step, metrics) after each train log line

        n_params = sum(p.numel() for p in self.dense_params)
        self._say(
            f"{n_params:,} parameters (puzzle embedding excluded) on {self.device}, {self.dtype}; "
            f"{self.total:,} steps of batch {tc.global_batch_size}, "
            f"{self.loader.examples_per_epoch:,} examples/epoch"
        )
        if resume and existing is not None:
            found = run_checkpoint.newest_verified(self.out_dir, is_main=self.info.is_main)
            run_checkpoint.restore(self, found)
            self._say(f"resumed from {found} (step {self.step:,})")
        elif resume:
            self._say(f"resume: no checkpoint in {self.out_dir}; starting from scratch")

        self.logger: NullLogger = NullLogger()
        if self.info.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            save_config(self.config, self.out_dir / "config.yaml")
            dtype = str(self.dtype).removeprefix("torch.")
            epe, world = self.loader.examples_per_epoch, self.info.world_size
            ckpt.write_run_info(self.out_dir, device=str(self.device), dtype=dtype, world_size=world,
                                total_steps=self.total, examples_per_epoch=epe)  # fmt: skip
            if resume:
                truncate_metrics(self.out_dir, self.step)
            lc = config.logging
            self.logger = MetricsLogger(
                self.out_dir,
                tensorboard=lc.tensorboard,
                wandb=lc.wandb,
                wandb_project=lc.wandb_project,
                run_name=config.name,
                config=self.config.model_dump(mode="json"),
                resume=resume,
            )

    # -- helpers ---------------------------------------------------------------------------------------
    def _say(self, msg: str) -> None:
        if self.progress:
            tqdm.write(msg, file=sys.stderr)

    @property
    def epoch(self) -> float:
        return self.step * self.config.train.global_batch_size / self.loader.examples_per_epoch

    def _seconds(self) -> float:
        return self.seconds_before + (time.monotonic() - self._t_start)

    # -- one optimizer step ------------------------------------------------------------------------------
    def _train_step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        tc = self.config.train
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        carry = self.carry if self.carry is not None else self.model.initial_carry(batch)
        with autocast(self.device, self.dtype):
            carry, out = self.model(carry, batch)
        loss, stats = deep_supervision_loss(
            out.logits,
            carry.data["labels"],
            out.q_halt,
            halted=carry.halted,
            steps=carry.steps,
            global_batch_size=tc.global_batch_size,
            kind=tc.loss,
            q_loss_weight=tc.q_loss_weight,
            q_continue=out.q_continue,
            target_q_continue=out.target_q_continue,
        )
        loss.backward()
        dist.all_reduce_grads(self.dense_params, self.info)
        dist.all_reduce_sparse_grads(self.emb_params, self.info)
        step = self.step + 1
        budget = tc.max_minutes * 60 if tc.max_minutes else None
        factor = lr_factor(
            step,
            warmup=tc.lr_warmup_steps,
            total=self.total,
            min_ratio=tc.lr_min_ratio,
            progress=self._seconds() / budget if budget else None,
        )
        self.lr = tc.lr * factor
        set_lr(self.opt, self.lr)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        if self.sparse_opt is not None:
            set_lr(self.sparse_opt, tc.puzzle_emb_lr * factor)
            self.sparse_opt.step(dist.all_gather_rows(carry.data["puzzle_identifiers"], self.info))
            self.sparse_opt.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(self.model, step)
        self.carry, self.step = carry, step
        return stats

    # -- evaluation --------------------------------------------------------------------------------------
    def _evaluate(self) -> dict[str, float]:
        from trm.evaluation.evaluate import evaluate

        metrics: dict[str, float] = {}
        if self.info.is_main:
            cfg = self.config
            with preserved_rng(), self.ema.applied(self.model) if self.ema else nullcontext():
                result = evaluate(
                    self.model,
                    self.eval_split,
                    batch_size=cfg.eval.batch_size,
                    device=self.device,
                    dtype=self.dtype,
                    halt_max_steps=cfg.eval.halt_max_steps,
                    limit=cfg.data.eval_limit,
                    early_halt=cfg.eval.early_halt,
                    progress=self.progress,
                    return_predictions=self.evaluator is not None,
                )
            self.model.train()
            metrics = result.metrics
            self.last_eval = (self.step, metrics)
            if self.evaluator is not None:  # the task's own evaluation (ARC: votes over every variant)
                self.evaluator.begin()
                self.evaluator.update(result.indices, result.predictions, result.q_halt)
                metrics.update(self.evaluator.result())
            self.logger.log("eval", self.step, self.epoch, metrics)
            self._say(
                f"eval @ step {self.step:,}: exact {metrics['exact_accuracy']:.2%}, "
                f"token {metrics['token_accuracy']:.2%}"
            )
        dist.barrier(self.info)
        return metrics

    # -- the loop ---------------------------------------------------------------------------------------
    def _log(self, window: MetricWindow, bar: tqdm) -> None:
        """Read the window's metric sums (the one host sync per ``log_every`` steps) and log them."""
        tc = self.config.train
        metrics, steps, seconds = window.take(self.info)
        metrics["lr"] = self.lr
        metrics["examples_per_s"] = steps * tc.global_batch_size / max(seconds, 1e-9)
        metrics["train_seconds"] = self._seconds()  # wall clock of the run so far (resumes included)
        if self.device.type == "cpu":
            metrics["threads"] = torch.get_num_threads()
        self.logger.log("train", self.step, self.epoch, metrics)
        if self.on_log is not None:
            self.on_log(self.step, metrics)
        bar.set_postfix(bar_postfix(metrics), refresh=False)

    def _stop_reason(self, signals: StopSignals, log_now: bool, stop_at_step: int | None) -> str:
        tc = self.config.train
        over_time = over_budget(tc, self._seconds())
        got_signal = signals.received is not None
        if self.info.enabled:  # decide together, at log steps only (a collective)
            over_time = log_now and dist.any_rank(over_time, self.info, self.device)
            got_signal = log_now and dist.any_rank(got_signal, self.info, self.device)
        return stop_reason(tc, step=self.step, total=self.total, interrupted=got_signal, over_time=over_time,
                           fresh=self._fresh_eval(), stop_at_step=stop_at_step)  # fmt: skip

    def _fresh_eval(self) -> dict[str, float]:
        """The metrics of an evaluation at the current step, or {}."""
        return self.last_eval[1] if self.last_eval is not None and self.last_eval[0] == self.step else {}

    def _eval_due(self) -> bool:
        """True when this step crossed a multiple of ``eval_interval`` epochs, or a target check is due."""
        tc = self.config.train
        if target_check_due(tc, self.step, self.total, self._seconds()):
            return True
        if not tc.eval_interval:
            return False
        per_eval = tc.eval_interval * self.loader.examples_per_epoch  # examples between evaluations
        b = tc.global_batch_size
        return (self.step * b) // per_eval > ((self.step - 1) * b) // per_eval

    def run(self, stop_at_step: int | None = None) -> TrainResult:
        tc = self.config.train
        self.lr = tc.lr
        # A time budget makes the bar count seconds (the step count it allows is unknown in advance).
        budget = tc.max_minutes * 60 if tc.max_minutes else None
        bar = tqdm(total=round(budget) if budget else self.total, initial=0 if budget else self.step,
                   desc=self.config.name, unit="s" if budget else "step",
                   disable=not self.progress, dynamic_ncols=True)  # fmt: skip
        self._t_start = time.monotonic()
        window = MetricWindow(self.device)  # metric sums since the last log
        at_boundary, warmed = True, False
        try:
            with StopSignals() as signals:
                stopped = self._stop_reason(signals, False, stop_at_step)
                while not stopped:
                    at_boundary = False
                    t_step = time.perf_counter()
                    window.add(self._train_step(next(self.loader)))
                    at_boundary = True
                    if warmed:  # the run's first step warms up
                        per_rank = tc.global_batch_size // self.info.world_size
                        self.threads.observe(per_rank, time.perf_counter() - t_step)
                    warmed = True
                    bar.update(int(min(self._seconds(), budget)) - bar.n if budget else 1)  # whole seconds
                    log_now = self.step % tc.log_every == 0
                    if log_now:
                        self._log(window, bar)
                    # Evaluate before deciding to stop (a target stops on it); a signal skips it (ranks
                    # decide together on signals at log steps only: there every rank evaluates).
                    if self._eval_due() and (self.info.enabled or signals.received is None):
                        run_checkpoint.save(self)
                        self._evaluate()
                    elif tc.checkpoint_every and self.step % tc.checkpoint_every == 0:
                        run_checkpoint.save(self)
                    stopped = self._stop_reason(signals, log_now, stop_at_step)
        except KeyboardInterrupt:  # a second signal, or one outside the handler: save if between steps
            bar.close()
            if at_boundary and not self.info.enabled and self.step != self.last_saved_step:
                run_checkpoint.save(self)
            self.logger.close()
            raise TrainingInterrupted(self.last_checkpoint) from None
        bar.close()
        if self.step != self.last_saved_step:
            run_checkpoint.save(self)
        if stopped == "interrupted":
            self.logger.close()
            raise TrainingInterrupted(self.last_checkpoint)
        metrics = {} if stopped == "stop_at_step" else (self._fresh_eval() or self._evaluate())
        self.logger.close()
        return TrainResult(self.out_dir, self.step, self.epoch, metrics, self.last_checkpoint, stopped)


def train(
    config: RunConfig,
    resume: bool = False,
    *,
    stop_at_step: int | None = None,
    progress: bool = True,
    on_log: Any = None,
) -> TrainResult:
    """Train ``config`` to its end (see the module docstring); returns where everything went.

    ``resume`` continues the newest checkpoint in ``config.out_dir``. ``stop_at_step`` stops early
    WITHOUT changing the schedule (checkpoint, no evaluation), e.g. to split a run into jobs.
    ``on_log(step, metrics)`` is called after each train log line (every ``log_every`` steps).
    Raises ``TrainingInterrupted`` (a KeyboardInterrupt) after a SIGINT/SIGTERM stop.
    """
    from trm.training.run_lock import RunLock

    # One run per out_dir (a second is refused; a killed run's stale lock is taken over). Main rank only.
    threads = torch.get_num_threads()  # train.threads changes it; the caller gets its own back
    with RunLock(config.out_dir, enabled=os.environ.get("RANK", "0") == "0"):
        trainer = Trainer(config, resume=resume, progress=progress)
        trainer.on_log = on_log
        try:
            return trainer.run(stop_at_step=stop_at_step)
        finally:
            trainer.loader.close()
            dist.shutdown(trainer.info)
            torch.set_num_threads(threads)
