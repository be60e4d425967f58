"""How long an ARC-size reference checkpoint takes to load, and how much memory it costs.

Writes (once) a checkpoint in the reference layout with random weights at the size of the ARC runs:
an attention TRM (hidden 512, 8 heads, 2 blocks, vocab 12, 900 cells, 16-position prefix) with a
puzzle table of 876,406 identifiers x 512 (1.8 GB in fp32), beside its ``all_config.yaml`` and
``dataset.json``. Then loads it with ``trm.checkpoints.load_any`` in a fresh process per row:

- ``before``: what loading did before (the whole file read into memory, the model built and
  initialised on the CPU, then the weights copied into it);
- ``after``: the file memory-mapped, the model built on the meta device, the mapped tensors taken
  as its parameters (``trm.checkpoints.fast_build``).

Each row is the median of ``--repeats`` processes: load seconds, peak resident memory (VmHWM, which
counts the file's pages the process touched) and, after the load, anonymous memory (RssAnon: what is
not the file's pages) and file pages (RssFile). The file lives in ``--file`` (default /tmp), never in
the repository; the page cache is warm after the first run (the second process reads from memory).

    PYTHONPATH=src .venv/bin/python benchmarks/checkpoint_load.py [--file /tmp/trm_arc_size/step_518071]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

IDS, D, SEQ, VOCAB = 876_406, 512, 900, 12


def _reference_name(ours: str) -> str:
    from trm.checkpoints.reference import _BLOCK_PARTS, _NAMES

    inverse = {v: k for k, v in _NAMES.items()}
    if ours in inverse:
        return inverse[ours]
    _, index, part = ours.split(".", 2)  # net.<i>.<part> -> L_level.layers.<i>.<theirs>
    index, part = part.split(".", 1) if index == "blocks" else (index, part)
    theirs = {v: k for k, v in _BLOCK_PARTS.items()}[part]
    return f"L_level.layers.{index}.{theirs}"


def make(path: Path) -> None:
    """The checkpoint file, its all_config.yaml and dataset.json (random weights, fixed seed)."""
    import yaml

    from trm.config import RunConfig
    from trm.data.format import DatasetMetadata
    from trm.models import build_model

    arch = {"name": "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1", "hidden_size": D,
            "num_heads": 8, "expansion": 4, "H_cycles": 3, "L_cycles": 4, "L_layers": 2, "H_layers": 0,
            "halt_max_steps": 16, "halt_exploration_prob": 0.1, "puzzle_emb_ndim": D, "puzzle_emb_len": 16,
            "pos_encodings": "rope", "mlp_t": False, "no_ACT_continue": True,
            "forward_dtype": "bfloat16"}  # fmt: skip
    config = RunConfig.model_validate({"task": "arc", "model": {"hidden_size": D, "num_heads": 8}})
    meta = DatasetMetadata(
        task="arc", vocab_size=VOCAB, seq_len=SEQ, grid_shape=(30, 30), num_puzzle_identifiers=1
    )
    torch.manual_seed(0)
    small = build_model(config, meta)
    state = {
        "_orig_mod.model.inner." + _reference_name(k): v
        for k, v in small.state_dict().items()
        if k != "embed.puzzle.weight"
    }
    state["_orig_mod.model.inner.puzzle_emb.weights"] = torch.randn(IDS, D) * 0.02
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    (path.parent / "all_config.yaml").write_text(yaml.safe_dump({"arch": arch, "run_name": "arc_size"}))
    dataset = {"vocab_size": VOCAB, "seq_len": SEQ, "num_puzzle_identifiers": IDS, "pad_id": 0}
    (path.parent / "dataset.json").write_text(json.dumps(dataset))


def _status() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) * 1024
    return fields


def _old_build(config, metadata, state, where):
    """Loading as it was: build and initialise every parameter, then copy the weights in."""
    from trm.models import build_model

    model = build_model(config, metadata)
    model.load_state_dict(state, strict=True)
    return model.eval()


def measure(path: Path, mode: str) -> None:
    """One load in this process; prints a JSON line."""
    torch.set_num_threads(os.cpu_count() or 1)
    import trm.checkpoints.fast_build as fast_build
    import trm.checkpoints.weights as weights
    from trm.checkpoints import load_any

    if mode == "before":
        weights._torch_load = lambda p: torch.load(p, map_location="cpu", weights_only=True)
        fast_build.build_with_weights = _old_build
    start = time.perf_counter()
    model, _, _ = load_any(path, device="cpu")
    seconds = time.perf_counter() - start
    rows = model.embed.puzzle.weight.shape[0]
    print(json.dumps({"mode": mode, "seconds": seconds, "rows": rows, **_status()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=Path("/tmp/trm_arc_size/step_518071"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="before,after")
    parser.add_argument("--measure", choices=["before", "after"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.file, args.measure)
        return
    if not args.file.is_file():
        print(f"writing {args.file} ...", flush=True)
        make(args.file)
    size = args.file.stat().st_size
    load = Path("/proc/loadavg").read_text().strip()
    print(f"{args.file}: {size / 1e9:.2f} GB, {IDS:,} x {D} puzzle table; loadavg {load}")
    print("| path | load s | peak RSS GB | RssAnon GB | RssFile GB |")
    print("|---|---|---|---|---|")
    for mode in args.modes.split(","):
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run(
                [sys.executable, __file__, "--file", str(args.file), "--measure", mode],
                check=True, capture_output=True, text=True, env=os.environ,
            )  # fmt: skip
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        med = {k: statistics.median(r[k] for r in runs) for k in ("seconds", "VmHWM", "RssAnon", "RssFile")}
        print(
            f"| {mode} | {med['seconds']:.2f} | {med['VmHWM'] / 1e9:.2f} | {med['RssAnon'] / 1e9:.2f} "
            f"| {med['RssFile'] / 1e9:.2f} |"
        )
    print(f"loadavg after: {Path('/proc/loadavg').read_text().strip()}")
    print("command: PYTHONPATH=src " + shlex.join([Path(sys.executable).name, *sys.argv]))


if __name__ == "__main__":
    main()
