"""Training throughput on a busy machine: examples/s on 1 thread, on all cores and with the automatic choice
(``trm.threads``, as ``train.threads=auto`` does), with 0, 1 and 2 busy processes beside it.

A busy process is a Python loop (``while True: pass``) in its own process, like a browser or an IDE keeping
a core busy. A step is the trainer's step (``train_throughput.trm_step``: forward, loss, backward, optimizer,
EMA) at the recipe's model size, batch ``--batch``, fp32 or the dtype the trainer picks (``--dtype auto``).
The three thread settings take turns in ``--rounds`` rounds per row, so a change in the machine's load
during a row moves all three alike; the automatic one keeps its tuner across its turns and starts with no
knowledge: its first probe (about two steps per count, once per run) runs before the turns and is shown
apart, in seconds; its later probes (on a drop, or on its timer) are in its figure. Each turn starts with
one untimed step. sudoku_mlp's step is ~10x the quick-start's per example, hence its smaller default batch.

    .venv/bin/python benchmarks/contention.py                              # quickstart and sudoku_mlp
    .venv/bin/python benchmarks/contention.py --recipes quickstart --seconds 6 --busy 0,1
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import machine, run_config, trm_step  # noqa: E402
from trm.device import pick_dtype  # noqa: E402
from trm.threads import available_cores, thread_tuner, torch_set_threads  # noqa: E402


def busy_processes(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ", 3)[0]
    except OSError:
        return "?"


def measure_row(step, batch: int, cores: int, seconds: float, rounds: int) -> dict:
    """examples/s of each setting over ``rounds`` turns of ``seconds / rounds`` each (see the docstring)."""
    tuner = thread_tuner("auto", "cpu", cores=cores)
    assert tuner is not None, "one core: nothing to choose"
    t_probe = time.perf_counter()
    step()  # untimed, as the trainer's first step
    while not tuner.probes:  # the first probe, once per run: timed apart
        t0 = time.perf_counter()
        step()
        tuner.observe(batch, time.perf_counter() - t0)
    first_probe = time.perf_counter() - t_probe
    modes = {"1": 1, "N": cores, "auto": tuner}
    done = {m: [0.0, 0.0] for m in modes}  # examples, seconds
    used: dict[int, float] = {}  # seconds the automatic setting ran at each count
    for _ in range(rounds):
        for name, mode in modes.items():
            torch_set_threads(mode if isinstance(mode, int) else mode.current)
            step()  # untimed: the first step at a new count
            t_turn = time.perf_counter()
            while time.perf_counter() - t_turn < seconds / rounds:
                count = torch.get_num_threads()
                t0 = time.perf_counter()
                step()
                dt = time.perf_counter() - t0
                done[name][0] += batch
                done[name][1] += dt
                if not isinstance(mode, int):
                    mode.observe(batch, dt)
                    used[count] = used.get(count, 0.0) + dt
    rates = {m: ex / max(sec, 1e-9) for m, (ex, sec) in done.items()}
    share = ", ".join(f"{c}: {s / sum(used.values()):.0%}" for c, s in sorted(used.items()))
    return {**rates, "auto_threads": share, "first_probe": first_probe}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recipes", default="quickstart,sudoku_mlp")
    ap.add_argument("--busy", default="0,1,2", help="busy processes per row group, comma-separated")
    ap.add_argument("--seconds", default="9,12", help="seconds per setting per row, one per recipe or one")
    ap.add_argument("--rounds", type=int, default=3, help="turns per setting per row")
    ap.add_argument("--batch", default="64,8", help="batch per recipe (comma-separated) or one for all")
    ap.add_argument("--dtype", default="auto", help="auto (the trainer's choice) | float32 | bfloat16")
    args = ap.parse_args()
    recipes = args.recipes.split(",")
    seconds = [float(s) for s in args.seconds.split(",")]
    seconds = seconds * len(recipes) if len(seconds) == 1 else seconds
    cores = available_cores()
    dtype = pick_dtype(torch.device("cpu"), args.dtype)
    batches = [int(b) for b in args.batch.split(",")]
    batches = batches * len(recipes) if len(batches) == 1 else batches
    batch = dict(zip(recipes, batches, strict=True))
    steps = {r: trm_step(run_config(r), batch[r], dtype) for r in recipes}
    rows = []
    for busy in (int(b) for b in args.busy.split(",")):
        procs = busy_processes(busy)
        try:
            time.sleep(0.5)
            for recipe, secs in zip(recipes, seconds, strict=True):
                load = loadavg()
                r = measure_row(steps[recipe], batch[recipe], cores, secs, args.rounds)
                rows.append({"recipe": recipe, "batch": batch[recipe], "busy": busy, "load": load, **r})
                print(f"  {recipe} busy={busy}: {r}", file=sys.stderr, flush=True)
        finally:
            for p in procs:
                p.kill()
                p.wait()
    print(f"{machine()}; {cores} cores; {str(dtype).removeprefix('torch.')}")
    print(f"\n| recipe (batch) | busy processes | load avg | 1 thread | {cores} threads "
          f"| automatic (time per count) | auto / best fixed | first probe |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        best = max(r["1"], r["N"])
        print(f"| {r['recipe']} ({r['batch']}) | {r['busy']} | {r['load']} | {r['1']:,.1f} | {r['N']:,.1f} "
              f"| {r['auto']:,.1f} ({r['auto_threads']}) | {r['auto'] / best:.2f} "
              f"| {r['first_probe']:.1f} s |")  # fmt: skip
    for r in (r for r in rows if r["busy"] == 0):
        print(f"\n{r['recipe']} idle: automatic / {cores} threads = {r['auto'] / r['N']:.2f}")
    print(f"\nexamples/s; reproduce: {shlex.join([Path(sys.executable).name, *sys.argv])}")


if __name__ == "__main__":
    main()
