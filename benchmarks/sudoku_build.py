"""Time the Sudoku dataset builders on local files (no network).

Writes a CSV of distinct 9x9 puzzles with unique solutions (generated, then multiplied by augmentation),
then times ``build_from_files`` (parse + uniqueness check + augmentation + writing) and, for the hub
reader, ``read_hub_csv`` on a larger CSV of the Sudoku-Extreme layout. Prints a table.

    .venv/bin/python benchmarks/sudoku_build.py --puzzles 1000 --num-aug 100 --hub-rows 200000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from trm.data.sudoku import augment_batch, format_grid, generate
from trm.data.sudoku.build import build_from_files, write_dataset
from trm.data.sudoku.sources import Pairs, check_file, read_hub_csv


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    base = generate(9, count=max(1, rows // 50), seed=seed)
    rng = np.random.default_rng(seed)
    lines = ["source,question,answer,rating"]
    per = -(-rows // len(base))
    for g in base:
        qs, as_ = augment_batch(g.puzzle, g.solution, rng, per)
        lines += [f"bench,{format_grid(q)},{format_grid(a)},{g.rating}" for q, a in zip(qs, as_, strict=True)]
    path.write_text("\n".join(lines[: rows + 1]) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--puzzles", type=int, default=1000)
    ap.add_argument("--num-aug", type=int, default=100)
    ap.add_argument(
        "--hub-rows", type=int, default=200_000, help="rows of the CSV for the hub reader (0: skip)"
    )
    args = ap.parse_args()
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_csv(tmp / "p.csv", args.puzzles)
        t = time.perf_counter()
        pairs, _, _ = check_file(tmp / "p.csv")
        table.append((f"parse + check {args.puzzles} puzzles (unique solution)", time.perf_counter() - t))
        t = time.perf_counter()
        write_dataset(
            tmp / "aug",
            Pairs(pairs.questions[:-100], pairs.answers[:-100], pairs.ratings[:-100]),
            Pairs(pairs.questions[-100:], pairs.answers[-100:], pairs.ratings[-100:]),
            num_aug=args.num_aug,
            seed=0,
            build={},
        )
        table.append(
            (f"augment x{args.num_aug} + write {args.puzzles - 100} puzzles", time.perf_counter() - t)
        )
        t = time.perf_counter()
        report = build_from_files(tmp / "ds", tmp / "p.csv", num_aug=args.num_aug, seed=0)
        c = report.counts
        table.append(
            (f"build_from_files total ({c['train_examples']} train examples)", time.perf_counter() - t)
        )
        if args.hub_rows:
            write_csv(tmp / "hub.csv", args.hub_rows)
            t = time.perf_counter()
            got = read_hub_csv(tmp / "hub.csv", lambda r: np.arange(0, len(r), len(r) // 1000))
            table.append(
                (f"read_hub_csv {args.hub_rows} rows, keep {len(got.ratings)}", time.perf_counter() - t)
            )
            t = time.perf_counter()
            got = read_hub_csv(tmp / "hub.csv")
            table.append((f"read_hub_csv {args.hub_rows} rows, keep all", time.perf_counter() - t))
    print(f"{'step':<60} {'seconds':>8}")
    for name, sec in table:
        print(f"{name:<60} {sec:>8.2f}")
    print(
        f"\nreproduce: .venv/bin/python benchmarks/sudoku_build.py --puzzles {args.puzzles} "
        f"--num-aug {args.num_aug} --hub-rows {args.hub_rows}"
    )


if __name__ == "__main__":
    main()
