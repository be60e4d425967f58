"""Metric sinks of a run: ``metrics.jsonl`` (always), TensorBoard and Weights & Biases (optional).

Design choices:

- One JSON object per line: ``{"step", "epoch", "kind": "train"|"eval", <metric>: value, ...}``,
  appended and flushed per record, so a killed run keeps what it logged. On resume the file is
  cut back (atomically) to the records at or before the resumed step, so it never holds two
  histories of the same steps.
- TensorBoard tags are ``<kind>/<metric>``; W&B is imported only when asked for, and its absence is
  an error at start-up (never a silent no-op).
- Only the main process (rank 0) creates a logger; the others get ``NullLogger``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from trm.data.format import atomic_write_text

METRICS_FILE = "metrics.jsonl"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf
    return value


def truncate_metrics(out_dir: str | Path, step: int) -> None:
    """Keep only the records with ``step <= step`` (used on resume)."""
    path = Path(out_dir) / METRICS_FILE
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a half-written last line of a killed run
        if record.get("step", 0) <= step:
            kept.append(line)
    atomic_write_text(path, "".join(line + "\n" for line in kept))


def read_metrics(out_dir: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The records of ``metrics.jsonl`` (of one ``kind`` if given)."""
    path = Path(out_dir) / METRICS_FILE
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in records if kind is None or r.get("kind") == kind]


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
