"""The TRM paper's ablations, HRM and direct prediction, trained from one trainer at a small scale.

Every variant is the same base run plus a few ``key=value`` overrides (no copied model files): the
switches of ``trm.config.ModelConfig``/``TrainConfig``. Each is trained for a fixed budget of optimizer
steps (or minutes) with several seeds, then evaluated on held-out puzzles (all supervision steps, EMA
weights when the variant has EMA). The table puts held-out exact accuracy (mean, sample std, min-max
over seeds) beside the TRM paper's Sudoku-Extreme numbers (arXiv 2510.04871, its ablation table).

Scale (so it fits two CPU cores): generated 6x6 Sudoku (2x3 boxes, minimal puzzles with unique
solutions, >= 18 blanks; 4,000 training puzzles x 16 augmentations, 500 held-out puzzles; copying the
input scores 0%), the quickstart model (d=64, MLP-T, 2 blocks, T=2, n=2, N_sup=8, batch 128, AdamW lr 1e-3
with 100 warm-up steps then cosine to 0.1x, stablemax, EMA 0.999). Where a paper ablation changes T, n
or the depth, the small-scale variant changes ours in the same proportion (see ``VARIANTS``). HRM keeps
its two 4-block attention modules, one-step gradient, Q-learning halting and no EMA; direct prediction
is an 8-block attention transformer with one pass. The ``*_mlp`` rows swap in the MLP-T mixer, since
attention learns slowly at this size (docs/design.md) and would otherwise confound the comparison.

Finished runs are cached in ``<out>/<variant>/seed<k>/result.json`` (keyed by the resolved config), so an
interrupted benchmark resumes where it stopped; an unfinished run's folder is deleted and rerun.

    .venv/bin/python benchmarks/ablations.py                                   # the full table (hours)
    .venv/bin/python benchmarks/ablations.py --steps 30 --seeds 1 --variants trm,one_step,direct  # smoke
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from trm.config import RunConfig, load_recipe
from trm.data.format import atomic_write_text


@dataclass(frozen=True)
class Variant:
    what: str  # the change, in words
    overrides: dict[str, Any] = field(default_factory=dict)
    paper: float | None = None  # Sudoku-Extreme exact accuracy (%) in the papers, if reported
    paper_note: str = ""


# The small-scale base (on top of the quickstart recipe): written out so the table says what ran.
SCALE: dict[str, Any] = {
    "model.arch": "trm",
    "model.hidden_size": 64,
    "model.num_heads": 4,
    "model.num_layers": 2,
    "model.mixer": "mlp_t",
    "model.H_cycles": 2,  # T
    "model.L_cycles": 2,  # n
    "model.halt_max_steps": 8,  # N_sup
    "model.puzzle_emb": False,
    "model.puzzle_emb_len": 16,  # the quickstart recipe's before it became 1 (the tables were measured so)
    "model.width_multiple": 64,
    "train.global_batch_size": 128,
    "train.optimizer": "adamw",
    "train.lr": 1e-3,
    "train.lr_min_ratio": 0.1,
    "train.lr_warmup_steps": 100,
    "train.weight_decay": 0.1,
    "train.loss": "stablemax",
    "train.ema": True,
    "train.eval_interval": None,
    "eval.batch_size": 512,
    "logging.tensorboard": False,
}

_HRM = {
    "model.arch": "hrm",
    "model.h_layers": 4,
    "model.l_layers": 4,
    "model.mixer": "attention",
    "model.gradient": "one_step",
    "model.halting": "q_learning",
    "train.ema": False,
}
_DIRECT = {
    "model.arch": "direct",
    "model.num_layers": 8,
    "model.mixer": "attention",
    "model.halt_max_steps": 1,
}

VARIANTS: dict[str, Variant] = {
    "trm": Variant(
        "TRM as the base: MLP-T, one network, full last-cycle backprop, single halting head", {}, 87.4
    ),
    "q_learning": Variant(
        "HRM-style halting: halt + continue heads, Q-learning target", {"model.halting": "q_learning"}, 86.1
    ),
    "separate_nets": Variant("separate networks for y and z", {"model.separate_nets": True}, 82.4),
    "single_latent": Variant(
        "one latent state, no separate answer y",
        {"model.single_latent": True},
        71.9,
        "TRM Table 2 (single z)",
    ),
    "no_ema": Variant("no EMA of the weights", {"train.ema": False}, 79.9),
    "more_layers": Variant(
        "2x blocks, n/2 (paper: 4 layers, n=3)", {"model.num_layers": 4, "model.L_cycles": 1}, 79.5
    ),
    "attention": Variant("self-attention instead of the MLP-T mixer", {"model.mixer": "attention"}, 74.7),
    "less_recursion": Variant(
        "1/3 of the calls: T=1, n=1 (paper: T=2, n=2 for T=3, n=6)",
        {"model.H_cycles": 1, "model.L_cycles": 1},
        73.7,
    ),
    "one_step": Variant(
        "HRM's 1-step gradient (last z and y updates only)", {"model.gradient": "one_step"}, 56.5
    ),
    "softmax": Variant("softmax instead of stablemax cross-entropy", {"train.loss": "softmax"}, None),
    "hrm": Variant(
        "HRM: L and H modules of 4 attention blocks, 1-step gradient, Q-learning, no EMA", _HRM, 55.0
    ),
    "hrm_mlp": Variant("HRM with the MLP-T mixer", {**_HRM, "model.mixer": "mlp_t"}, None),
    "direct": Variant("direct prediction: 8 attention blocks, one pass, no deep supervision", _DIRECT, 0.0),
    "direct_mlp": Variant(
        "direct prediction with the MLP-T mixer", {**_DIRECT, "model.mixer": "mlp_t"}, None
    ),
}


@dataclass(frozen=True)
class DataSpec:
    train_puzzles: int = 4000
    test_puzzles: int = 500
    num_aug: int = 16
    min_blanks: int = 18
    seed: int = 0


def ensure_data(root: Path, spec: DataSpec) -> Path:
    """Generate the 6x6 Sudoku set once (reused when its build options match)."""
    from trm.data.sudoku.build_generated import build_from_generator

    data = (
        root
        / f"data-6x6-{spec.train_puzzles}x{spec.num_aug}-{spec.test_puzzles}-b{spec.min_blanks}-s{spec.seed}"
    )
    if not (data / "test" / "metadata.json").exists():
        build_from_generator(
            data, size=6, train_count=spec.train_puzzles, test_count=spec.test_puzzles, num_aug=spec.num_aug,
            min_blanks=spec.min_blanks, seed=spec.seed, force=True,
        )  # fmt: skip
    return data


def variant_config(
    name: str,
    *,
    data: Path,
    out_dir: Path,
    seed: int,
    steps: int | None,
    minutes: float | None,
    device: str = "auto",
    extra: dict[str, Any] | None = None,
) -> RunConfig:
    """The resolved config of one run: quickstart recipe <- SCALE <- the variant <- budget <- ``extra``."""
    if (steps is None) == (minutes is None):
        raise ValueError("give exactly one budget: steps or minutes")
    budget = {"train.max_steps": steps, "train.max_minutes": minutes, "train.epochs": 1_000_000}
    run = {"name": f"ablation-{name}-seed{seed}", "out_dir": str(out_dir), "data.path": str(data)}
    run |= {"train.seed": seed, "train.device": device}
    overrides = {**SCALE, **VARIANTS[name].overrides, **budget, **run, **(extra or {})}
    return load_recipe("quickstart", overrides=overrides)


def _config_key(config: RunConfig) -> str:
    dump = config.model_dump(mode="json")
    dump.pop("out_dir")
    return hashlib.sha256(json.dumps(dump, sort_keys=True).encode()).hexdigest()[:16]


def run_one(config: RunConfig, *, progress: bool = False) -> dict[str, Any]:
    """Train + evaluate one run (or read its cached result). Returns the result record."""
    from trm.models import build_model, count_parameters
    from trm.training.loop import train

    out = Path(config.out_dir)
    record_file = out / "result.json"
    key = _config_key(config)
    if record_file.exists():
        record = json.loads(record_file.read_text())
        if record.get("config_key") == key:
            return record | {"cached": True}
    if out.exists():
        shutil.rmtree(out)  # an unfinished or differently configured run of ours: start over
    start = time.perf_counter()
    result = train(config, progress=progress)
    seconds = time.perf_counter() - start
    with torch.device("meta"):
        params = count_parameters(build_model(config))
    m = result.metrics
    record = {
        "config_key": key,
        "name": config.name,
        "exact_accuracy": m["exact_accuracy"],
        "token_accuracy": m["token_accuracy"],
        "per_step": {k.rsplit("_", 1)[1]: v for k, v in m.items() if k.startswith("exact_accuracy_step_")},
        "steps": result.step,
        "epoch": result.epoch,
        "stopped": result.stopped,
        "seconds": round(seconds, 1),
        "parameters": params,
    }
    atomic_write_text(record_file, json.dumps(record, indent=2) + "\n")
    return record | {"cached": False}


def summarize(results: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per variant: exact accuracy mean / sample std / min / max over seeds; mean token accuracy."""
    rows = []
    for name, records in results.items():
        acc = [100 * r["exact_accuracy"] for r in records]
        rows.append(
            {
                "variant": name,
                "what": VARIANTS[name].what,
                "paper": VARIANTS[name].paper,
                "paper_note": VARIANTS[name].paper_note,
                "seeds": len(acc),
                "mean": statistics.fmean(acc),
                "std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
                "min": min(acc),
                "max": max(acc),
                "token": statistics.fmean(100 * r["token_accuracy"] for r in records),
                "parameters": records[0]["parameters"],
                "steps": records[0]["steps"],
                "seconds": statistics.fmean(r["seconds"] for r in records),
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    head = f"{'variant':<15}{'paper %':>9}{'ours %':>9}{'± std':>8}{'min-max':>14}{'token %':>9}{'seeds':>6}{'params':>10}{'steps':>7}{'s/run':>7}  change"  # noqa: E501
    lines = [head, "-" * len(head)]
    for r in rows:
        paper = "-" if r["paper"] is None else f"{r['paper']:.1f}"
        spread = f"{r['min']:.1f}-{r['max']:.1f}"
        lines.append(
            f"{r['variant']:<15}{paper:>9}{r['mean']:>9.1f}{r['std']:>8.1f}{spread:>14}{r['token']:>9.1f}{r['seeds']:>6}"
            f"{r['parameters']:>10,}{r['steps']:>7}{r['seconds']:>7.0f}  {r['what']}"
            + (f" [paper: {r['paper_note']}]" if r["paper_note"] else "")
        )
    return "\n".join(lines)


def _parse_set(items: list[str]) -> dict[str, Any]:
    from trm.config import parse_override

    return {".".join(path): value for path, value in map(parse_override, items)}


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1000, help="optimizer steps per run (default 1000)")
    ap.add_argument(
        "--minutes", type=float, default=None, help="wall-clock budget per run instead of --steps"
    )
    ap.add_argument("--seeds", type=int, default=3, help="training seeds 0..N-1 per variant")
    ap.add_argument(
        "--only-seed", type=int, default=None,
        help="run just this seed (to spread seeds over processes; a later run without it reuses the cache)",
    )  # fmt: skip
    ap.add_argument("--variants", default="all", help=f"comma list or 'all': {','.join(VARIANTS)}")
    ap.add_argument("--out", type=Path, default=Path("runs/ablations"), help="data, runs and results.json")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    ap.add_argument("--train-puzzles", type=int, default=DataSpec.train_puzzles)
    ap.add_argument("--test-puzzles", type=int, default=DataSpec.test_puzzles)
    ap.add_argument("--num-aug", type=int, default=DataSpec.num_aug)
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="extra override for every run"
    )
    ap.add_argument("--progress", action="store_true", help="show the trainer's progress bars")
    args = ap.parse_args(argv)

    names = (
        list(VARIANTS)
        if args.variants == "all"
        else [v.strip() for v in args.variants.split(",") if v.strip()]
    )
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    if args.seeds < 1 or (args.minutes is None and args.steps < 1):
        ap.error("--seeds and --steps must be positive")
    steps = None if args.minutes is not None else args.steps
    extra = _parse_set(args.set)
    spec = DataSpec(args.train_puzzles, args.test_puzzles, args.num_aug)
    data = ensure_data(args.out, spec)
    print(f"data: {data}; torch threads: {torch.get_num_threads()}", file=sys.stderr)

    results: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        for seed in range(args.seeds) if args.only_seed is None else [args.only_seed]:
            config = variant_config(
                name, data=data, out_dir=args.out / name / f"seed{seed}", seed=seed, steps=steps,
                minutes=args.minutes, device=args.device, extra=extra,
            )  # fmt: skip
            record = run_one(config, progress=args.progress)
            results.setdefault(name, []).append(record)
            tag = "cached" if record["cached"] else f"{record['seconds']:.0f}s"
            print(f"{name:<15} seed {seed}: exact {record['exact_accuracy']:.2%} ({tag})", file=sys.stderr)

    rows = summarize(results)
    budget = f"{args.minutes:g} min" if args.minutes is not None else f"{args.steps} steps"
    print(f"\nHeld-out exact accuracy on 6x6 Sudoku ({spec.test_puzzles} puzzles), {budget} per run, "
          f"{args.seeds} seed(s); paper: Sudoku-Extreme 9x9.")  # fmt: skip
    print(format_table(rows))
    argv_text = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"\nreproduce: .venv/bin/python benchmarks/ablations.py {argv_text}".rstrip())
    summary = {"budget": budget, "data": str(data), "rows": rows, "runs": results}
    atomic_write_text(args.out / "results.json", json.dumps(summary, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
