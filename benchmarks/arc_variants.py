"""Time per ARC task of ``trm arc evaluate --variants K`` with an ARC-size model on this machine's CPU.

Builds a small ARC dataset (``--tasks`` random tasks, one test input each, ``--pool`` variants per task)
and an ARC-size attention TRM with random weights (hidden 512, 8 heads, 2 blocks, T=3, n=4, N_sup=16,
16-position prefix: the paper's ARC model; random weights take as long as trained ones), then runs
``predict_and_vote_variants`` for each K of ``--ks`` and prints seconds per task. Accuracy is not
measured here (random weights); the published K=1 vs K=1000 accuracies are in docs/pretrained.md.

    PYTHONPATH=src .venv/bin/python benchmarks/arc_variants.py [--ks 1,2,4] [--tasks 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _dataset(root: Path, tasks: int, pool: int) -> Path:
    from trm.data.arc.build import build_arc_dataset

    rng = np.random.default_rng(0)
    names = []
    for t in range(tasks):
        pairs = []
        for _ in range(3):
            g = rng.integers(0, 10, size=(10, 10))
            pairs.append({"input": g.tolist(), "output": np.fliplr(g).tolist()})
        path = root / f"task{t}.json"
        path.write_text(json.dumps({"train": pairs[:2], "test": pairs[2:]}))
        names.append(str(path))
    out = root / "arc"
    build_arc_dataset(out, train_sources=[], eval_sources=names, variants=pool)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", default="1,2,4")
    parser.add_argument("--tasks", type=int, default=1)
    parser.add_argument("--pool", type=int, default=16, help="Variants built per task.")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    from trm.config import RunConfig
    from trm.data.format import open_split
    from trm.evaluation.arc_variants import predict_and_vote_variants
    from trm.models import build_model

    with tempfile.TemporaryDirectory() as tmp:
        data = _dataset(Path(tmp), args.tasks, args.pool)
        config = RunConfig.model_validate(
            {"task": "arc", "model": {"hidden_size": 512, "num_heads": 8, "num_layers": 2, "H_cycles": 3,
                                      "L_cycles": 4, "halt_max_steps": 16, "puzzle_emb_len": 16}}
        )  # fmt: skip
        torch.manual_seed(0)
        model = build_model(config, open_split(data, "test").metadata).eval()
        load = Path("/proc/loadavg").read_text().strip()
        print(f"threads {torch.get_num_threads()}, cores {os.cpu_count()}, loadavg {load}")
        print("| K | variants voted per task | seconds per task |")
        print("|---|---|---|")
        for k in (int(x) for x in args.ks.split(",")):
            start = time.perf_counter()
            _, arc = predict_and_vote_variants(
                model, data, variants=k, batch_size=args.batch_size, dtype="float32"
            )
            wall = time.perf_counter() - start
            voted, per_task = arc.metrics["arc/variants_per_task"], arc.metrics["arc/seconds_per_task"]
            print(f"| {k} | {voted:g} | {per_task:.1f} |  (wall {wall:.1f} s)", flush=True)
        print(f"loadavg after: {Path('/proc/loadavg').read_text().strip()}")
    print("command: PYTHONPATH=src " + shlex.join([Path(sys.executable).name, *sys.argv]))


if __name__ == "__main__":
    main()
