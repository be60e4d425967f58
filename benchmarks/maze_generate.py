"""Maze generator speed and the distribution of what it makes (path lengths, distinct shortest paths).

Prints a table of mazes/s per size and the statistics of the largest run. Reproduce with:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/maze_generate.py --count 200 --sides 10 20 30
"""

from __future__ import annotations

import argparse
import time

from trm.data.maze.generate import default_min_path_len, format_summary, generate_records, summarize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="mazes per size")
    parser.add_argument("--sides", type=int, nargs="+", default=[10, 20, 30])
    parser.add_argument("--extra-open", type=float, default=0.03)
    parser.add_argument("--corner-open", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"{'side':>5} {'min_len':>8} {'mazes':>6} {'seconds':>8} {'mazes/s':>8}  (generate + label)")
    last = None
    for side in args.sides:
        t0 = time.perf_counter()
        records = generate_records(
            args.count, side=side, extra_open=args.extra_open, corner_open=args.corner_open, seed=args.seed
        )
        dt = time.perf_counter() - t0
        print(f"{side:>5} {default_min_path_len(side):>8} {args.count:>6} {dt:>8.2f} {args.count / dt:>8.1f}")
        last = (side, records)
    if last is not None:
        side, records = last
        print(
            f"\n{side}x{side} extra_open={args.extra_open} corner_open={args.corner_open} seed={args.seed}:"
        )
        print(format_summary(summarize([r.question for r in records])))


if __name__ == "__main__":
    main()
