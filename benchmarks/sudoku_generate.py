"""Speed of the seeded Sudoku generator, and what it makes: histograms of ratings and of blank counts.

Single-threaded; times are CPU time of this process (``time.process_time``) and wall time.

    python benchmarks/sudoku_generate.py --size 9 --count 1000 --seed 0
    python benchmarks/sudoku_generate.py --size 6 --count 3000 --min-blanks 18
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter

from trm.data.sudoku import generate


def rating_bin(r: int) -> str:
    """0, 1, 2, then powers of two: 3-4, 5-8, 9-16, ..."""
    if r <= 2:
        return str(r)
    hi = 4
    while r > hi:
        hi *= 2
    return f"{hi // 2 + 1}-{hi}"


def table(title: str, counts: Counter, order: list, total: int) -> None:
    print(f"\n{title:<10} {'puzzles':>8} {'share':>7}")
    for key in order:
        share = counts[key] / total
        print(f"{key!s:<10} {counts[key]:>8} {share:>7.1%}  {'#' * round(40 * share)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=9, choices=[4, 6, 9, 16])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-blanks", type=int, default=None)
    ap.add_argument("--not-minimal", action="store_true", help="stop removing clues at --min-blanks")
    ap.add_argument("--min-rating", type=int, default=None, help="keep puzzles rated at least this (retries)")
    args = ap.parse_args()

    wall, cpu = time.perf_counter(), time.process_time()
    made = generate(
        args.size,
        count=args.count,
        seed=args.seed,
        min_blanks=args.min_blanks,
        minimal=not args.not_minimal,
        target_rating=args.min_rating,
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    ratings = [g.rating for g in made]
    blanks = [int((g.puzzle == 0).sum()) for g in made]

    n = args.size
    print(
        f"{args.count} {n}x{n} puzzles (seed {args.seed}, minimal={not args.not_minimal}, "
        f"min_blanks={args.min_blanks}, min_rating={args.min_rating}): "
        f"{args.count / cpu:.1f} puzzles/s CPU, {args.count / wall:.1f}/s wall"
    )
    print(f"  ({cpu:.1f} s CPU, {wall:.1f} s wall)")
    mean_r, median_r, mean_b = statistics.mean(ratings), statistics.median(ratings), statistics.mean(blanks)
    print(f"rating: mean {mean_r:.2f}, median {median_r}, max {max(ratings)}; ", end="")
    print(f"blanks: mean {mean_b:.1f}, min {min(blanks)}, max {max(blanks)}")
    rating_counts = Counter(rating_bin(r) for r in ratings)
    order = sorted(rating_counts, key=lambda k: int(k.split("-")[0]))
    table("rating", rating_counts, order, len(made))
    table("blanks", Counter(blanks), sorted(set(blanks)), len(made))
    print("\nreproduce: python " + " ".join(["benchmarks/sudoku_generate.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
