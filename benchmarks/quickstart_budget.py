"""The whole ``trm quickstart`` (data, training, evaluation, pictures) timed on this CPU as it is and as a
CPU without bf16, side by side: wall time, training steps, held-out exact accuracy.

"Without bf16" runs the same command with ``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2``: oneDNN and
ATen then use AVX2 kernels only (no AVX-512, no AMX), and ``trm.device.pick_dtype`` picks fp32, as on a CPU
that lacks AVX512-BF16/AMX (same cores and clock otherwise). On a CPU without bf16 both rows are fp32.
Each run starts from nothing (``--fresh``) in its own folder; runs are sequential, never concurrent.
``--busy N`` keeps N other processes busy (a Python loop each, as a browser or an IDE would) beside every
run: the quick-start trains a plan of steps, so a busier machine takes longer, not a worse model.

    .venv/bin/python benchmarks/quickstart_budget.py                      # both kinds, the default budget
    .venv/bin/python benchmarks/quickstart_budget.py --kinds avx2 --seeds 0,1 --minutes 3.5
    .venv/bin/python benchmarks/quickstart_budget.py --kinds native --busy 1   # one busy process beside it
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from trm.device import cpu_has_native_bf16

KINDS = {
    "native": {},
    "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
}


def run(kind: str, seed: int, minutes: float | None, out: Path, busy: int = 0) -> dict:
    env = {**os.environ, **KINDS[kind]}
    trm = shutil.which("trm", path=str(Path(sys.executable).parent)) or "trm"
    cmd = [trm, "quickstart", "--out", str(out), "--fresh", "--seed", str(seed)]
    if minutes is not None:
        cmd += ["--minutes", str(minutes)]
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
    finally:
        for p in loops:
            p.kill()
            p.wait()
    summary = json.loads((out / "quickstart.json").read_text())
    run_info = json.loads((out / "run.json").read_text())
    return {"kind": kind, "seed": seed, "busy": busy, "dtype": run_info.get("dtype", "?"), "seconds": seconds,
            "load": Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?",
            **summary}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default="native,avx2", help=f"comma-separated: {', '.join(KINDS)}")
    ap.add_argument("--seeds", default="0", help="comma-separated data/training seeds")
    ap.add_argument("--minutes", type=float, default=None, help="training budget (default: the command's)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/trm-quickstart-budget"))
    ap.add_argument("--busy", type=int, default=0, help="busy processes beside each run")
    args = ap.parse_args()
    rows = []
    for kind in args.kinds.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            rows.append(run(kind, seed, args.minutes, args.out / f"{kind}-{seed}", args.busy))
    native = "native bf16" if cpu_has_native_bf16() else "no native bf16"  # this process has no ISA cap
    print(
        f"trm quickstart on {platform.processor() or platform.machine()} ({native}), {os.cpu_count()} cores"
    )
    print(
        "\n| CPU kind | dtype | seed | busy processes | load avg at the end | whole command | train steps "
        "| stopped by | examples/s | held-out exact | after 1 / 2 / 8 steps |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|")
    for r in rows:
        per = r["exact_accuracy_per_step"]
        steps = " / ".join(f"{per.get(k, float('nan')):.1%}" for k in ("1", "2", "8"))
        rate = f"{r['examples_per_s']:,.0f}" if r.get("examples_per_s") else "?"
        print(f"| {r['kind']} | {r['dtype']} | {r['seed']} | {r['busy']} | {r['load']} "
              f"| {r['seconds'] / 60:.2f} min | {r['train_steps']:,} | {r.get('stopped', '?')} | {rate} "
              f"| {r['exact_accuracy']:.1%} | {steps} |")  # fmt: skip
    print(f"\nreproduce: {shlex.join([Path(sys.executable).name, *sys.argv])}")


if __name__ == "__main__":
    main()
