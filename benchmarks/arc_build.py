"""Build time, disk size and peak RAM of `trm data arc` (ARC-AGI-1 + ConceptARC by default).

Each build runs in its own process so its peak RSS is measured alone. Prints a table and the command.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/arc_build.py --variants 100 1000 --out /tmp/arc_bench
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import shutil
import sys
import time
from pathlib import Path

CONCEPTARC = Path(__file__).resolve().parents[2] / "shared" / "data" / "conceptarc" / "corpus"


def _build(out: str, variants: int, set_name: str, conceptarc: str | None, queue) -> None:
    from trm.data.arc.build import build_arc_dataset, default_sources

    train, evaluation = default_sources(set_name, conceptarc)
    start = time.perf_counter()
    summary = build_arc_dataset(out, train_sources=train, eval_sources=evaluation, variants=variants, seed=0)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"seconds": seconds, "peak_rss_mib": peak_mib, **summary})


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--set", dest="set_name", default="arc1", choices=["arc1", "arc2"])
    ap.add_argument("--conceptarc", default=str(CONCEPTARC) if CONCEPTARC.exists() else None)
    ap.add_argument("--out", default="/tmp/arc_bench")
    ap.add_argument("--keep", action="store_true", help="keep the built datasets")
    args = ap.parse_args()
    rows = []
    ctx = mp.get_context("spawn")
    for v in args.variants:
        out = Path(args.out) / f"{args.set_name}-aug-{v}"
        shutil.rmtree(out, ignore_errors=True)
        queue = ctx.Queue()
        proc = ctx.Process(target=_build, args=(str(out), v, args.set_name, args.conceptarc, queue))
        proc.start()
        res = queue.get()
        proc.join()
        from trm.data.format import open_split

        train, test = open_split(out, "train"), open_split(out, "test")
        var_bytes = (out / "arc_variants.npz").stat().st_size
        rows.append((v, res, train.num_examples, test.num_examples, _size(out), var_bytes))
        if not args.keep:
            shutil.rmtree(out)
    print(f"\n`trm data arc --set {args.set_name}`" + (" + ConceptARC" if args.conceptarc else ""))
    header = (
        "variants/task",
        "variants",
        "train ex",
        "test ex",
        "seconds",
        "disk GiB",
        "peak RSS MiB",
        "table MiB",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for v, res, ntr, nte, size, var_bytes in rows:
        cells = (v, f"{res['num_variants']:,}", f"{ntr:,}", f"{nte:,}", f"{res['seconds']:.1f}",
                 f"{size / 2**30:.2f}", f"{res['peak_rss_mib']:.0f}", f"{var_bytes / 2**20:.1f}")  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")
    print("\ncommand: OMP_NUM_THREADS=1 " + " ".join([Path(sys.executable).name, *sys.argv]))
    print(
        json.dumps(
            [
                {"variants": v, **{k: r[k] for k in ("seconds", "peak_rss_mib", "num_variants")}}
                for v, r, *_ in rows
            ]
        )
    )


if __name__ == "__main__":
    main()
