"""Where one training step's time goes, op by op: ours against tiny-recursive-model, side by side.

Runs ``compare.py``'s training steps (ours: ``sudoku_mlp`` or ``sudoku_att``; the peer with the
matched configuration) once untimed, then one step each under ``torch.profiler`` and prints the
self CPU time of the largest ops (``--shapes``: grouped by input shapes too). The profiler's times are
the calling thread's wall clock per op, so with more threads they show what the step waits for.
Without the peer installed (see ``compare.py``) only our rows are printed.

    PYTHONPATH=src /tmp/peers/bin/python benchmarks/step_profile.py --variant mlp --batch 32 --threads 2
"""

from __future__ import annotations

import argparse
import collections
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import OUR_RECIPE, lucidrains_step  # noqa: E402
from train_throughput import run_config, trm_step  # noqa: E402


def profile(step: Callable[[], None], shapes: bool, top: int) -> None:
    step()
    with torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=shapes
    ) as prof:
        wall = time.perf_counter()
        step()
        wall = time.perf_counter() - wall
    seconds: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    for event in prof.key_averages(group_by_input_shape=shapes):
        key = f"{event.key} {event.input_shapes}" if shapes else event.key
        seconds[key] += event.self_cpu_time_total / 1e6
        calls[key] += event.count
    print(f"  step {wall:.2f} s under the profiler; self time of all ops {sum(seconds.values()):.2f} s")
    for key, s in seconds.most_common(top):
        print(f"  {s:8.3f} s  {calls[key]:5d} calls  {key[:110]}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", default="mlp", choices=sorted(OUR_RECIPE))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--shapes", action="store_true", help="group by input shapes")
    p.add_argument("--top", type=int, default=20)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"fp32, batch {args.batch}, {args.threads} threads")
    print(f"ours ({OUR_RECIPE[args.variant]}):")
    profile(trm_step(run_config(OUR_RECIPE[args.variant]), args.batch, torch.float32), args.shapes, args.top)
    try:
        peer = lucidrains_step(args.variant, args.batch, torch.float32)
    except ImportError as e:
        print(f"tiny-recursive-model: not importable ({e}); see compare.py for how to install it")
    else:
        print("tiny-recursive-model:")
        profile(peer, args.shapes, args.top)
    rest = shlex.join(argv if argv is not None else sys.argv[1:])
    print(f"reproduce: python benchmarks/step_profile.py {rest}")


if __name__ == "__main__":
    main()
