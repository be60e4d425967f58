"""Test-time compute: accuracy against network calls for one checkpoint and data set, every strategy.

For each strategy and budget B (calls relative to the plain pass of N_sup steps) it runs
``trm.evaluation.ttc.evaluate_ttc`` once and reads off every selection from the same candidates:

- ``steps``: ``steps:n=B*N_sup`` (one trajectory, more recursion);
- ``noise``: ``noise:k=B,sigma=S`` (B trajectories, Gaussian noise on z before every step);
- ``augment``: ``augment:k=B`` (B symmetric copies; Maze stops at 8);
- ``aug+noise``: ``augment:k=4+noise:k=B/4`` for B >= 8;
- ``smc``: ``smc:k=B,sigma=S`` (particle search: resampling by sigmoid(q) when the ESS falls below half,
  a puzzle's particles stop once their mean halting probability reaches 0.5; calls vary per puzzle);
- ``smc+gate``: ``smc:k=B,sigma=S,gate=q`` (the plain pass first; the search only where it is unsure).

``steps``, ``noise`` and ``smc`` are task-agnostic; ``augment`` needs the task's symmetries. The x axis is
the measured mean calls per puzzle. Columns: ``q``, ``vote`` and ``wvote`` (q-weighted vote) are
model-only selections, ``verify`` uses the task's rule checker (apart), ``any`` is the share of puzzles
where some candidate is right (the ceiling of any selection); with ``--diagnose`` the smc and noise rows
also get the cloud diagnostics (stability, alignment, entropy). The summary says whether the best
model-only selection within 16x the calls removes at least half of the plain pass's errors, and whether
the best task-agnostic one removes 80% without any task-agnostic row falling below the plain pass. A
sigma sweep at k=4 (``--sigmas``) picks S first unless ``--sigma`` is given.
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

SELECT_COLUMNS = ("q", "vote", "wvote", "verify", "any")
MODEL_ONLY = ("q", "vote", "wvote")
AGNOSTIC = ("plain", "steps", "noise", "smc", "smc+gate")


def task_agnostic(row: dict) -> bool:
    """A row that uses no task code: a task-agnostic strategy, or an ``--extra`` spec without augmentation."""
    return row["strategy"] in AGNOSTIC or (row["strategy"] == "extra" and "augment" not in row["spec"])


DIAG = ("diag_stability", "diag_alignment", "diag_alignment_label_free", "diag_entropy_normalized")


def load_average() -> list[str] | None:
    """The 1, 5 and 15 minute load averages (Linux), to say how shared the machine was."""
    path = Path("/proc/loadavg")
    return path.read_text().split()[:3] if path.exists() else None


def run_one(model, split, spec: str, args, dtype) -> dict:
    res = evaluate_ttc(
        model, split, spec, batch_size=args.batch_size, max_rows=args.max_rows,
        device=next(model.parameters()).device, dtype=dtype, limit=args.limit,
        diagnose=args.diagnose and spec.startswith(("smc", "noise")),
    )  # fmt: skip
    m = res.metrics
    row = {"spec": spec, "calls_ratio": m["calls_ratio"], "calls_per_puzzle": m["calls_per_puzzle"]}
    row.update({s: m[f"exact_accuracy_{s}"] for s in SELECT_COLUMNS})
    row["candidate0"] = m["exact_accuracy_candidate0"]
    row["searched"] = m["searched_fraction"]
    row["puzzles_per_second"] = m["puzzles_per_second"]
    row.update({d: m[d] for d in DIAG if d in m})
    diag = "  ".join(f"{d[5:]} {row[d]:.2f}" for d in DIAG if d in row)
    print(
        f"  {spec:<40} x{row['calls_ratio']:<6.2f} q {row['q']:.3f}  vote {row['vote']:.3f}  "
        f"wvote {row['wvote']:.3f}  verify {row['verify']:.3f}  any {row['any']:.3f}  "
        f"{row['puzzles_per_second']:.1f} puzzles/s  {diag}",
        flush=True,
    )
    return row


def plan(
    task: str, n_sup: int, budgets: list[int], sigma: float, strategies: set[str] | None = None
) -> list[tuple[str, int, str]]:
    """(strategy, budget, spec) rows; ``strategies`` keeps only those (the plain pass always runs)."""
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
        rows.append(("smc", b, f"smc:k={b},sigma={sigma:g}"))
        rows.append(("smc+gate", b, f"smc:k={b},sigma={sigma:g},gate=q"))
    return [r for r in rows if r[0] == "plain" or strategies is None or r[0] in strategies]


def table(rows: list[dict]) -> str:
    head = (
        "| strategy | spec | calls/puzzle (x plain) | q | vote | wvote | verify | any candidate | searched |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        name = r["strategy"] + ("" if task_agnostic(r) else " (task)")
        lines.append(
            f"| {name} | `{r['spec']}` | {r['calls_ratio']:.2f} | {100 * r['q']:.1f} | "
            f"{100 * r['vote']:.1f} | {100 * r['wvote']:.1f} | {100 * r['verify']:.1f} | "
            f"{100 * r['any']:.1f} | {100 * r['searched']:.0f}% |"
        )
    return "\n".join(lines)


def diagnostics_table(rows: list[dict]) -> str:
    """The cloud diagnostics of the rows that have them, beside the gain of their best model-only pick."""
    lines = ["| spec | stability | alignment (AUROC) | label-free alignment | entropy (/log K) | gain |"]
    lines.append("|---|---|---|---|---|---|")
    base = next(r for r in rows if r["strategy"] == "plain")["candidate0"]
    for r in rows:
        if "diag_stability" not in r:
            continue
        vals = [f"{r[d]:.3f}" if d in r else "-" for d in DIAG]
        gain = max(r[s] for s in MODEL_ONLY) - base
        lines.append(f"| `{r['spec']}` | {' | '.join(vals)} | {100 * gain:+.1f} |")
    return "\n".join(lines)


def summary(rows: list[dict], max_ratio: float = 16.0) -> str:
    base = next(r for r in rows if r["strategy"] == "plain")["candidate0"]
    fits = [r for r in rows if r["calls_ratio"] <= max_ratio + 1e-9]
    best, how = max(((r[s], (r, s)) for r in fits for s in MODEL_ONLY), key=lambda t: t[0])
    r, sel = how
    errors = 1.0 - base
    removed = (best - base) / errors if errors > 0 else float("nan")
    verdict = "meets" if removed >= 0.5 else "does not meet"
    text = (
        f"plain pass {100 * base:.1f}% ({100 * errors:.1f}% errors); "
        f"best model-only within {max_ratio:g}x calls: "
        f"{100 * best:.1f}% ({sel} on `{r['spec']}`, x{r['calls_ratio']:.2f}) removes {100 * removed:.0f}% "
        f"of the errors: {verdict} the goal of half"
    )
    agnostic = [r for r in fits if task_agnostic(r) and r["strategy"] != "plain"]
    if agnostic:
        best, (r, sel) = max(((r[s], (r, s)) for r in agnostic for s in MODEL_ONLY), key=lambda t: t[0])
        removed = (best - base) / errors if errors > 0 else float("nan")
        lower = [f"{r['spec']} ({s})" for r in agnostic for s in MODEL_ONLY if r[s] < base - 1e-9]
        text += (
            f"\nbest task-agnostic: {100 * best:.1f}% ({sel} on `{r['spec']}`, x{r['calls_ratio']:.2f}) "
            f"removes {100 * removed:.0f}% of the errors ({'meets' if removed >= 0.8 else 'does not meet'} "
            f"the goal of 80%); below the plain pass: {', '.join(lower) if lower else 'none'}"
        )
    return text


def draw(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    base = next(r for r in rows if r["strategy"] == "plain")
    colours = {
        "steps": "tab:blue", "noise": "tab:orange", "smc": "tab:purple", "smc+gate": "tab:brown",
        "augment": "tab:green", "aug+noise": "tab:red",
    }  # fmt: skip
    for strategy, colour in colours.items():
        pts = [base] + [r for r in rows if r["strategy"] == strategy]
        if len(pts) < 2:
            continue
        x = [r["calls_ratio"] for r in pts]
        kind = "agnostic" if strategy in AGNOSTIC else "task"
        if strategy == "steps":  # one candidate: every selection gives the same answer
            ax.plot(x, [100 * r["q"] for r in pts], "-o", color=colour, label="steps [agnostic]", ms=4)
            continue
        sel = "wvote" if strategy.startswith("smc") else "vote"
        ax.plot(x, [100 * r["q"] for r in pts], "-o", color=colour, label=f"{strategy} q [{kind}]", ms=4)
        ax.plot(x, [100 * r[sel] for r in pts], "--s", color=colour, label=f"{strategy} {sel} [{kind}]", ms=4)
        ax.plot(x, [100 * r["verify"] for r in pts], ":", color=colour, alpha=0.5, lw=1)
    for r in (r for r in rows if r["strategy"] == "extra"):
        best = max(r[s] for s in MODEL_ONLY)
        ax.plot([r["calls_ratio"]], [100 * best], "kx", ms=6)
        ax.annotate(
            r["spec"], (r["calls_ratio"], 100 * best), fontsize=6, xytext=(3, 3), textcoords="offset points"
        )
    ax.axhline(100 * base["candidate0"], color="grey", lw=0.8, label="plain pass")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("measured network calls per puzzle (x the plain pass)")
    ax.set_ylabel("exact accuracy (%)")
    ax.set_title(
        title + "\n[agnostic]: no task code; [task]: symmetries; dotted: verify (rule checker)", fontsize=8
    )
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
    ap.add_argument(
        "--strategies",
        default=None,
        help="comma list to run (default all): steps,noise,augment,aug+noise,smc,smc+gate",
    )
    ap.add_argument("--diagnose", action="store_true", help="cloud diagnostics on the smc and noise rows")
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
        sigma = max(sweep, key=lambda r: (max(r[s] for s in MODEL_ONLY), -r["sigma"]))["sigma"]
        print(f"sigma = {sigma:g} (best model-only accuracy at k=4)")
    rows = []
    keep = set(args.strategies.split(",")) if args.strategies else None
    todo = plan(meta.task, n_sup, [int(b) for b in args.budgets.split(",")], sigma, keep)
    if args.only_extra:
        todo = todo[:1]
    todo += [("extra", 0, spec) for spec in args.extra or []]
    for strategy, budget, spec in todo:
        rows.append(run_one(model, split, spec, args, dtype) | {"strategy": strategy, "budget": budget})
    print()
    print(table(rows))
    print()
    if args.diagnose:
        print(diagnostics_table(rows))
        print()
    print(summary(rows))
    if args.json:
        report = {"command": shlex.join(sys.argv), "checkpoint": str(args.checkpoint), "data": str(data),
                  "limit": args.limit, "sigma": sigma, "sigma_sweep": sweep, "rows": rows,
                  "loadavg": load_average(),
                  "summary": summary(rows)}  # fmt: skip
        atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")
    if args.png:
        draw(rows, args.png, f"{Path(args.checkpoint).name}: {meta.task}, {args.limit or 'all'} puzzles")
        print(f"plot: {args.png}")


if __name__ == "__main__":
    main()
