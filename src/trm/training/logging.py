"""Metric sinks of a run: ``metrics.jsonl`` (always), TensorBoard and Weights & Biases (optional).

Design choices:

- One JSON object per line (:mod:`trm.metrics_log`: the format, its readers), appended and flushed
  per record, so a killed run keeps what it logged. On resume the file is cut back (atomically) to
  the records at or before the resumed step, so it never holds two histories of the same steps.
- TensorBoard tags are ``<kind>/<metric>``; W&B is imported only when asked for, and its absence is
  an error at start-up (never a silent no-op).
- Only the main process (rank 0) creates a logger; the others get ``NullLogger``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

# The log's format and readers live in trm.metrics_log; the names stay importable from here.
from trm.metrics_log import METRICS_FILE, read_metrics, truncate_metrics

__all__ = ["METRICS_FILE", "MetricsLogger", "NullLogger", "read_metrics", "truncate_metrics"]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf
    return value


class NullLogger:
    def log(self, kind: str, step: int, epoch: float, metrics: dict[str, float]) -> None:
        pass

    def close(self) -> None:
        pass


class MetricsLogger(NullLogger):
    def __init__(
        self,
        out_dir: str | Path,
        *,
        tensorboard: bool = True,
        wandb: bool = False,
        wandb_project: str = "trm",
        run_name: str = "run",
        config: dict[str, Any] | None = None,
        resume: bool = False,
    ):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._file = open(self.out_dir / METRICS_FILE, "a")  # noqa: SIM115  (open for the run; closed by close())
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(self.out_dir / "tensorboard"))
        self._wandb = None
        if wandb:
            try:
                import wandb as wandb_module
            except ImportError as e:
                raise ImportError(
                    "logging.wandb=true needs the wandb package: pip install 'trm[wandb]'"
                ) from e
            self._wandb = wandb_module.init(
                project=wandb_project,
                name=run_name,
                config=config,
                dir=str(self.out_dir),
                resume="allow" if resume else None,
            )

    def log(self, kind: str, step: int, epoch: float, metrics: dict[str, float]) -> None:
        record = {"step": step, "epoch": round(epoch, 6), "kind": kind}
        record.update({k: _clean(v) for k, v in metrics.items()})
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._tb is not None:
            for k, v in metrics.items():
                if isinstance(v, (int, float)) and math.isfinite(v):
                    self._tb.add_scalar(f"{kind}/{k}", v, step)
            self._tb.flush()
        if self._wandb is not None:
            self._wandb.log({f"{kind}/{k}": v for k, v in metrics.items()}, step=step)

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()
