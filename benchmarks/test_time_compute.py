"""Test-time compute: accuracy against network calls for one checkpoint and data set, every strategy.

For each strategy and budget B (calls relative to the plain pass of N_sup steps) it runs
``trm.evaluation.ttc.evaluate_ttc`` once and reads off every selection from the same candidates:

- ``steps``: ``steps:n=B*N_sup`` (one trajectory, more recursion);
- ``noise``: ``noise:k=B,sigma=S`` (B trajectories, Gaussian noise on z before every step);
- ``augment``: ``augment:k=B`` (B symmetric copies; Maze stops at 8);
- ``aug+noise``: ``augment:k=4+noise:k=B/4`` for B >= 8.

Columns: ``q`` and ``vote`` are model-only selections, ``verify`` uses the task's rule checker (apart),
``any`` is the share of puzzles where some candidate is right (the ceiling of any selection). The summary
says whether the best model-only selection within 16x the calls removes at least half of the plain
pass's errors. A sigma sweep at k=4 (``--sigmas``) picks S first unless ``--sigma`` is given.
``--extra SPEC`` adds rows of any spec (crosses in the plot, at their better model-only selection).
Writes a JSON of every row and a PNG of exact accuracy against calls (log scale).

    .venv/bin/python benchmarks/test_time_compute.py runs/ttc/qs90 --limit 200 --png docs/images/ttc_qs90.png
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import torch

from trm.checkpoints import load_any
from trm.data.format import atomic_write_text, open_split
from trm.device import pick_dtype
from trm.evaluation.ttc import evaluate_ttc

SELECT_COLUMNS = ("q", "vote", "verify", "any")


def run_one(model, split, spec: str, args, dtype) -> dict:
    res = evaluate_ttc(
        model, split, spec, batch_size=args.batch_size, max_rows=args.max_rows,
        device=next(model.parameters()).device, dtype=dtype, limit=args.limit,
    )  # fmt: skip
    m = res.metrics
    row = {"spec": spec, "calls_ratio": m["calls_ratio"], "calls_per_puzzle": m["calls_per_puzzle"]}
    row.update({s: m[f"exact_accuracy_{s}"] for s in SELECT_COLUMNS})
    row["candidate0"] = m["exact_accuracy_candidate0"]
    row["puzzles_per_second"] = m["puzzles_per_second"]
    print(
        f"  {spec:<34} x{row['calls_ratio']:<6.2f} q {row['q']:.3f}  vote {row['vote']:.3f}  "
        f"verify {row['verify']:.3f}  any {row['any']:.3f}  {row['puzzles_per_second']:.1f} puzzles/s",
        flush=True,
    )
    return row


def plan(task: str, n_sup: int, budgets: list[int], sigma: float) -> list[tuple[str, int, str]]:
    """(strategy, budget, spec) rows."""
    rows = [("plain", 1, f"steps:n={n_sup}")]
    for b in budgets:
        if b == 1:
            continue
        rows.append(("steps", b, f"steps:n={b * n_sup}"))
        rows.append(("noise", b, f"noise:k={b},sigma={sigma:g}"))
        if task != "maze" or b <= 8:
            rows.append(("augment", b, f"augment:k={b}"))
        if b >= 8 and b % 4 == 0:
            rows.append(("aug+noise", b, f"augment:k=4+noise:k={b // 4},sigma={sigma:g}"))
    return rows


def table(rows: list[dict]) -> str:
    head = "| strategy | spec | calls (x plain) | q | vote | verify | any candidate | puzzles/s |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['strategy']} | `{r['spec']}` | {r['calls_ratio']:.2f} | {100 * r['q']:.1f} | "
            f"{100 * r['vote']:.1f} | {100 * r['verify']:.1f} | {100 * r['any']:.1f} | "
            f"{r['puzzles_per_second']:.1f} |"
        )
    return "\n".join(lines)


def summary(rows: list[dict], max_ratio: float = 16.0) -> str:
    base = next(r for r in rows if r["strategy"] == "plain")["candidate0"]
    fits = [r for r in rows if r["calls_ratio"] <= max_ratio + 1e-9]
    best, how = max(((r[s], (r, s)) for r in fits for s in ("q", "vote")), key=lambda t: t[0])
    r, sel = how
    errors = 1.0 - base
    removed = (best - base) / errors if errors > 0 else float("nan")
    verdict = "meets" if removed >= 0.5 else "does not meet"
    return (
        f"plain pass {100 * base:.1f}% ({100 * errors:.1f}% errors); "
        f"best model-only within {max_ratio:g}x calls: "
        f"{100 * best:.1f}% ({sel} on `{r['spec']}`, x{r['calls_ratio']:.2f}) removes {100 * removed:.0f}% "
        f"of the errors: {verdict} the goal of half"
    )


def draw(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    base = next(r for r in rows if r["strategy"] == "plain")
    colours = {"steps": "tab:blue", "noise": "tab:orange", "augment": "tab:green", "aug+noise": "tab:red"}
    for strategy, colour in colours.items():
        pts = [base] + [r for r in rows if r["strategy"] == strategy]
        if len(pts) < 2:
            continue
        x = [r["calls_ratio"] for r in pts]
        if strategy == "steps":  # one candidate: every selection gives the same answer
            ax.plot(x, [100 * r["q"] for r in pts], "-o", color=colour, label="steps (one trajectory)", ms=4)
            continue
        ax.plot(x, [100 * r["q"] for r in pts], "-o", color=colour, label=f"{strategy}, select=q", ms=4)
        ax.plot(
            x, [100 * r["vote"] for r in pts], "--s", color=colour, label=f"{strategy}, select=vote", ms=4
        )
        ax.plot(x, [100 * r["verify"] for r in pts], ":", color=colour, alpha=0.5, lw=1)
    for r in (r for r in rows if r["strategy"] == "extra"):
        best = max(r["q"], r["vote"])
        ax.plot([r["calls_ratio"]], [100 * best], "kx", ms=6)
        ax.annotate(
            r["spec"], (r["calls_ratio"], 100 * best), fontsize=6, xytext=(3, 3), textcoords="offset points"
        )
    ax.axhline(100 * base["candidate0"], color="grey", lw=0.8, label="plain pass")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("network calls per puzzle (x the plain pass)")
    ax.set_ylabel("exact accuracy (%)")
    ax.set_title(title + "  (dotted: select=verify, uses the rule checker)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", help="run dir, checkpoints dir, step dir or any trm.checkpoints spec")
    ap.add_argument(
        "--data", type=Path, default=None, help="dataset folder (default: the config's data.path)"
    )
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=None, help="first N puzzles only")
    ap.add_argument("--budgets", default="1,2,4,8,16", help="calls relative to the plain pass")
    ap.add_argument("--sigma", type=float, default=None, help="noise scale (default: the best of --sigmas)")
    ap.add_argument("--sigmas", default="0.1,0.3,1.0", help="sweep at noise:k=4 when --sigma is not given")
    ap.add_argument("--batch-size", type=int, default=64, help="puzzles per batch")
    ap.add_argument("--max-rows", type=int, default=2048, help="candidate rows per model call")
    ap.add_argument("--device", default="auto")
    ap.add_argument(
        "--extra", action="append", help="one more spec to run (repeatable), e.g. steps:n=16+noise:k=8"
    )
    ap.add_argument("--only-extra", action="store_true", help="run the plain pass and the --extra specs only")
    ap.add_argument("--json", type=Path, default=None, help="write every row here")
    ap.add_argument("--png", type=Path, default=None, help="draw accuracy against calls here")
    args = ap.parse_args()

    model, config, meta = load_any(args.checkpoint, device=args.device)
    data = args.data or Path(config.data.path)
    split = open_split(data, args.split)
    dev = next(model.parameters()).device
    dtype = pick_dtype(dev, config.train.dtype)
    n_sup = int(model.halt_max_steps)
    print(f"$ {shlex.join([sys.executable, *sys.argv])}")
    print(f"checkpoint {args.checkpoint}  data {data}/{args.split}  task {meta.task}  N_sup {n_sup}  "
          f"device {dev} {dtype}  torch threads {torch.get_num_threads()}", flush=True)  # fmt: skip
    sweep = []
    sigma = args.sigma
    if sigma is None:
        print("sigma sweep (noise:k=4):")
        for s in (float(x) for x in args.sigmas.split(",")):
            sweep.append(run_one(model, split, f"noise:k=4,sigma={s:g}", args, dtype) | {"sigma": s})
        sigma = max(sweep, key=lambda r: (max(r["q"], r["vote"]), -r["sigma"]))["sigma"]
        print(f"sigma = {sigma:g} (best model-only accuracy at k=4)")
    rows = []
    todo = plan(meta.task, n_sup, [int(b) for b in args.budgets.split(",")], sigma)
    if args.only_extra:
        todo = todo[:1]
    todo += [("extra", 0, spec) for spec in args.extra or []]
    for strategy, budget, spec in todo:
        rows.append(run_one(model, split, spec, args, dtype) | {"strategy": strategy, "budget": budget})
    print()
    print(table(rows))
    print()
    print(summary(rows))
    if args.json:
        report = {"command": shlex.join(sys.argv), "checkpoint": str(args.checkpoint), "data": str(data),
                  "limit": args.limit, "sigma": sigma, "sigma_sweep": sweep, "rows": rows,
                  "summary": summary(rows)}  # fmt: skip
        atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")
    if args.png:
        draw(rows, args.png, f"{Path(args.checkpoint).name}: {meta.task}, {args.limit or 'all'} puzzles")
        print(f"plot: {args.png}")


if __name__ == "__main__":
    main()
