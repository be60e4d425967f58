"""pass@2 on unseen ConceptARC tasks before and after `trm arc adapt`; a CPU-sized TRM trained on the rest.

Protocol: of ConceptARC's 16 concepts x 10 tasks, the first task of each concept (by name) is held out (16
tasks); a TRM is trained on the other 144 (their demonstrations; their test inputs held out, as evaluation
tasks). The held-out tasks are then given to `trm arc adapt` (new identifiers, their demonstrations only) and
their test inputs scored by voting before (fresh rows at the mean of the trained ones) and after adaptation.

    nice .venv/bin/python benchmarks/arc_adapt.py --out /tmp/arcb                    # base run + both modes
    nice .venv/bin/python benchmarks/arc_adapt.py --out /tmp/arcb --base-steps 0     # reuse out/base_run
    nice .venv/bin/python benchmarks/arc_adapt.py --out /tmp/arcb --base-stop 200    # the measured base model

Budgets are in steps (the machine may be shared); the table prints what was measured and the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CONCEPTARC = Path(__file__).resolve().parents[2] / "shared" / "data" / "conceptarc" / "corpus"


def split_tasks(corpus: Path) -> tuple[list[str], list[str]]:
    """(held-out: the first task of every concept, the rest)."""
    files = sorted(corpus.glob("*/*.json"))
    by_concept: dict[str, list[Path]] = {}
    for f in files:
        by_concept.setdefault(f.parent.name, []).append(f)
    held = [sorted(v)[0] for v in by_concept.values()]
    return [str(f) for f in held], [str(f) for f in files if f not in held]


def base_config(data: Path, out: Path, steps: int):
    from trm.config import load_recipe

    return load_recipe(
        "arc1",
        overrides=[
            "name=conceptarc_base", f"out_dir={out}", f"data.path={data}",
            "model.hidden_size=32", "model.num_heads=2", "model.num_layers=1", "model.H_cycles=1",
            "model.L_cycles=2", "model.halt_max_steps=4", "model.puzzle_emb_len=2", "model.width_multiple=16",
            "train.global_batch_size=16", f"train.max_steps={steps}", "train.eval_interval=null",
            "train.optimizer=adamw", "train.lr=2e-3", "train.lr_warmup_steps=20", "train.lr_min_ratio=0.1",
            "train.ema_rate=0.98", "train.dtype=bfloat16", "train.device=cpu", "train.log_every=20",
            "train.checkpoint_every=50", "data.eval_limit=48", "eval.batch_size=48",
            "logging.tensorboard=false",
        ],
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--corpus", type=Path, default=CONCEPTARC)
    ap.add_argument("--base-variants", type=int, default=16)
    ap.add_argument("--base-steps", type=int, default=400, help="schedule length; 0: reuse OUT/base_run")
    ap.add_argument(
        "--base-stop", type=int, default=None, help="stop the base run at this step (same schedule)"
    )
    ap.add_argument("--base-checkpoint", type=Path, default=None, help="default: the latest of OUT/base_run")
    ap.add_argument("--adapt-steps", type=int, default=100)
    ap.add_argument("--adapt-variants", type=int, default=16)
    ap.add_argument("--adapt-batch", type=int, default=16)
    ap.add_argument("--modes", default="embeddings,all")
    ap.add_argument("--adapt-emb-lr", type=float, default=None, help="default: the base run's")
    args = ap.parse_args()

    from trm.data.arc.build import build_arc_dataset
    from trm.data.format import atomic_write_text
    from trm.training.adapt import AdaptSettings, adapt
    from trm.training.loop import train

    held, rest = split_tasks(args.corpus)
    base = args.out / "base_run"
    if args.base_steps:
        base_data = {"train_sources": [], "eval_sources": rest, "variants": args.base_variants}
        build_arc_dataset(args.out / "base", **base_data, force=True)  # rebuilt on every run
        train(
            base_config(args.out / "base", base, args.base_steps), stop_at_step=args.base_stop, progress=False
        )
    base = args.base_checkpoint or base
    rows = []
    for mode in [m for m in args.modes.split(",") if m]:
        s = AdaptSettings(
            steps=args.adapt_steps, mode=mode, variants=args.adapt_variants, batch_size=args.adapt_batch,
            puzzle_emb_lr=args.adapt_emb_lr, eval_batch_size=64, device="cpu",
        )  # fmt: skip
        r = adapt(base, held, args.out / f"adapt_{mode}", s)
        rows.append((mode, r.before, r.after))
    print(
        f"\n{len(held)} held-out ConceptARC tasks ({args.adapt_variants} variants each), base model {base}\n"
    )
    print(
        "| mode | steps | pass@1 before -> after | pass@2 before -> after | token accuracy before -> after |"
    )
    print("|---|---|---|---|---|")
    for mode, b, a in rows:
        cells = [f"{b[k]:.1%} -> {a[k]:.1%}" for k in ("arc/pass@1", "arc/pass@2", "token_accuracy")]
        print(f"| {mode} | {args.adapt_steps} | " + " | ".join(cells) + " |")
    print("\nreproduce: nice .venv/bin/python benchmarks/arc_adapt.py " + " ".join(sys.argv[1:]))
    record = {m: {"before": b, "after": a} for m, b, a in rows}
    name = "arc_adapt_" + "_".join(m for m, _, _ in rows) + ".json"
    atomic_write_text(args.out / name, json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
