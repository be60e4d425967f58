"""How closely converted reference checkpoints reproduce the reference code's own outputs.

For each folder of ``reference_checkpoints/`` (made by running the reference TRM and HRM code, with
``golden.npz`` holding its logits and q values for 3 supervision steps of a batch of 4), loads the
checkpoint with ``trm.checkpoints.load_official`` and runs the same batch from a fresh carry, in fp32
and in float64. Prints, per step, the largest absolute difference of the logits and of q_halt
from the reference, and of our fp32 run from our float64 run (the size of fp32 rounding itself), and
whether every cell's argmax agrees.

    .venv/bin/python benchmarks/reference_fidelity.py [--root ../shared/data/reference_checkpoints]
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

from trm.checkpoints import load_official


def _run(model, golden, steps, dtype):
    model = model.to(dtype)
    batch = {k: torch.from_numpy(golden[k]).long() for k in ("inputs", "puzzle_identifiers")}
    carry, out = model.initial_carry(batch), []
    with torch.no_grad():
        for _ in range(steps):
            carry, o = model(carry, batch)
            out.append((o.logits.double(), o.q_halt.double()))
    return out


def main() -> None:
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "reference_checkpoints"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root",
        type=Path,
        default=default if default.is_dir() else Path("/work/shared/data/reference_checkpoints"),
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for folder in sorted(p for p in args.root.iterdir() if (p / "golden.npz").is_file()):
        golden = np.load(folder / "golden.npz")
        steps = golden["logits"].shape[0]
        f32 = _run(load_official(folder)[0], golden, steps, torch.float32)
        f64 = _run(load_official(folder)[0], golden, steps, torch.float64)
        for s in range(steps):
            ref = torch.from_numpy(golden["logits"][s]).double()
            q_ref = torch.from_numpy(golden["q_halt"][s]).double()
            logits, q = f32[s]
            rows.append((folder.name, s + 1, (logits - ref).abs().max().item(),
                         (q - q_ref).abs().max().item(), (logits - f64[s][0]).abs().max().item(),
                         ref.abs().max().item(),
                         bool(torch.equal(logits.argmax(-1), ref.argmax(-1)))))  # fmt: skip
    print("| checkpoint | step | max abs diff logits vs reference | q_halt vs reference "
          "| our fp32 vs our fp64 | max abs logit | argmax equal |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, s, dl, dq, d64, mag, same in rows:
        print(f"| {name} | {s} | {dl:.1e} | {dq:.1e} | {d64:.1e} | {mag:.2f} | {'yes' if same else 'NO'} |")
    print(f"\nreproduce: {shlex.join([sys.executable, *sys.argv])}")


if __name__ == "__main__":
    main()
