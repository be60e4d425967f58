"""Throughput of the pure-Python Sudoku solver on hard 9x9 puzzles: solve, count_solutions, rate.

Two fixed sets: famous hard puzzles (named ones and some of the "top95" and "hardest" collections,
typed in below and checked to have one solution at start-up), and generated minimal puzzles with
rating >= --min-rating from ``generate(9, seed=--seed)`` (about 8% of minimal puzzles rate >= 5).
Times are CPU time of this process (``time.process_time``), best of --repeat passes, single-threaded.

    python benchmarks/sudoku_solver.py                      # defaults: 30 generated, rating >= 5
    python benchmarks/sudoku_solver.py --count 100 --min-rating 8 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from trm.data.sudoku import count_solutions, generate, parse, rate, solve, validate

FAMOUS = {
    "AI Escargot": "1....7.9..3..2...8..96..5....53..9...1..8...26....4...3......1..4......7..7...3..",
    "Golden Nugget": ".......39.....1..5..3.5.8....8.9...6.7...2...1..4.......9.8..5..2....6..4..7.....",
    "Inkala 2012": "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4..",
    "Easter Monster": "1.......2.9.4...5...6...7...5.9.3.......7.......85..4.7.....6...3...9.8...2.....1",
    "top95-1": "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......",
    "top95-2": "52...6.........7.13...........4..8..6......5...........418.........3..2...87.....",
    "top95-3": "6.....8.3.4.7.................5.4.7.3..2.....1.6.......2.....5.....8.6......1....",
    "top95-4": "48.3............71.2.......7.5....6....2..8.............1.76...3.....4......5....",
    "top95-5": "....14....3....2...7..........9...3.6.1.............8.2.....1.4....5.6.....7.8...",
    "hardest-1": "85...24..72......9..4.........1.7..23.5...9...4...........8..7..17..........36.4.",
    "hardest-2": "..53.....8......2..7..1.5..4....53...1..7...6..32...8..6.5....9..4....3......97..",
    "hardest-3": "12.3....435....1....4........54..2..6...7.........8.9...31..5.......9.7.....6...8",
}


def best_time(fn: Callable[[np.ndarray], object], puzzles: list[np.ndarray], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for p in puzzles:
            fn(p)
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=30, help="generated puzzles in the second set")
    ap.add_argument("--min-rating", type=int, default=5, help="keep generated puzzles rated at least this")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    famous = [parse(t) for t in FAMOUS.values()]
    for name, p in zip(FAMOUS, famous, strict=True):
        s = solve(p)
        if s is None or validate(p, solution=s) or count_solutions(p) != 1:
            raise SystemExit(f"{name} is not a unique puzzle: check the string")
    start = time.process_time()
    made = generate(9, count=args.count, seed=args.seed, target_rating=args.min_rating)
    gen_s = time.process_time() - start
    sets = {"famous hard": famous, f"generated, rating>={args.min_rating}": [g.puzzle for g in made]}

    print(f"generated {args.count} puzzles with rating >= {args.min_rating} in {gen_s:.1f} s CPU")
    print(f"{'set':<24} {'puzzles':>7} {'mean rating':>11} {'solve/s':>9} {'count2/s':>9} {'rate/s':>9}")
    for name, puzzles in sets.items():
        ratings = [rate(p) for p in puzzles]
        row = [best_time(f, puzzles, args.repeat) for f in (solve, count_solutions, rate)]
        rates = " ".join(f"{len(puzzles) / t:>9.1f}" for t in row)
        print(f"{name:<24} {len(puzzles):>7} {statistics.mean(ratings):>11.1f} {rates}")
    print("\nreproduce: python " + " ".join(["benchmarks/sudoku_solver.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
