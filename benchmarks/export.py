"""Deploy benchmark: PyTorch (eager, compiled) against the exported ONNX model (fp32, int8) on this CPU.

Per model: file sizes, latency per puzzle at batch 1, throughput at batch ``--batch`` (puzzles/s), and
the agreement of the answers with PyTorch eager fp32 (the fraction of puzzles whose whole answer grid
after the timed steps is identical). With ``--quickstart RUN --quickstart-data DATA`` (a trained
``trm quickstart``) the quick-start row uses those weights and its held-out puzzles, and the exact
accuracy of every backend is printed too; other models use random weights (recipes' architectures)
and random token rows. An untrained recursion is chaotic (fp32 itself drifts from float64 by ~7x per
step), so answer agreement is meaningful for trained weights only; latency and size do not depend on it.

``--int8-schemes`` prints instead one table for the quick-start model: every int8 scheme of
``trm.export.quantize.SCHEMES`` against onnxruntime fp32, run natively (this CPU's kernels) and under
``trm.export.int8_kernels.emulate_avx2`` (the integer matmuls as onnxruntime's AVX2 kernel without VNNI
computes them; exact float ops, so the same on every CPU), with the matmuls that could saturate on such
a CPU counted from the graph. On a CPU without VNNI the "native" columns of an ``s8`` scheme are the
emulated ones.

Timing: one warm-up call, then the median of ``--repeats`` calls, each running ``steps`` supervision
steps (default: the model's N_sup; ``--steps-big`` for the paper-size models, whose 16 x 21 network
calls per puzzle take minutes on a small CPU: their rows say how many steps were timed). Threads:
``--threads`` for both torch and onnxruntime.

    .venv/bin/python benchmarks/export.py --quickstart runs/quickstart --quickstart-data runs/quickstart/data
    .venv/bin/python benchmarks/export.py --models sudoku_mlp,sudoku_att,arc --steps-big 1 --batch 64
    .venv/bin/python benchmarks/export.py --int8-schemes --quickstart runs/quickstart \
        --quickstart-data runs/quickstart/data --puzzles 500
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from trm.config import load_recipe
from trm.data.format import DatasetMetadata, open_split
from trm.export import export_model
from trm.export.int8_kernels import emulate_avx2, saturation_risks
from trm.export.quantize import SCHEMES, quantize_int8
from trm.inference.solver import Solver
from trm.models import build_model, count_parameters
from trm.runtime import OnnxSolver

SUDOKU_9 = DatasetMetadata(
    task="sudoku", vocab_size=11, seq_len=81, grid_shape=(9, 9), num_puzzle_identifiers=1
)
METADATA = {
    "quickstart": DatasetMetadata(
        task="sudoku", vocab_size=8, seq_len=36, grid_shape=(6, 6), num_puzzle_identifiers=1
    ),
    "sudoku_mlp": SUDOKU_9,
    "sudoku_att": SUDOKU_9,
    "arc": DatasetMetadata(
        task="arc", vocab_size=12, seq_len=900, grid_shape=(30, 30), num_puzzle_identifiers=1
    ),
}
RECIPES = {"quickstart": "quickstart", "sudoku_mlp": "sudoku_mlp", "sudoku_att": "sudoku_att", "arc": "arc1"}
Runner = Callable[[np.ndarray], np.ndarray]  # tokens [b, L] -> answer tokens [b, L]


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (compilation, allocator, onnxruntime's first-run optimisations)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def torch_runner(model, config, metadata, steps: int, compiled: bool) -> Runner:
    if compiled:
        model = torch.compile(model)
    solver = Solver(model, config, metadata, dtype="float32")
    return lambda tokens: solver._run(tokens, steps, 0)[0][-1]


def onnx_runner(path: Path, steps: int, threads: int) -> Runner:
    solver = OnnxSolver(path, threads=threads)
    return lambda tokens: solver.run(tokens, steps)[0][-1]


def load(name: str, args) -> tuple[torch.nn.Module, object, DatasetMetadata, np.ndarray, np.ndarray | None]:
    """(model, config, metadata, token rows, label rows or None) for one benchmark row."""
    if name == "quickstart" and args.quickstart:
        solver = Solver.load(args.quickstart, device="cpu")
        test = open_split(args.quickstart_data, "test") if args.quickstart_data else None
        if test is not None:
            n = min(args.puzzles, test.num_examples)
            return (
                solver.model,
                solver.config,
                solver.metadata,
                np.asarray(test.inputs[:n]),
                np.asarray(test.labels[:n]),
            )
        rows = np.random.default_rng(0).integers(
            1, solver.metadata.vocab_size, (args.puzzles, solver.metadata.seq_len)
        )
        return solver.model, solver.config, solver.metadata, rows, None
    metadata = METADATA[name]
    config = load_recipe(RECIPES[name])
    torch.manual_seed(0)
    model = build_model(config, metadata).eval()
    rows = np.random.default_rng(0).integers(1, metadata.vocab_size, (args.puzzles, metadata.seq_len))
    return model, config, metadata, rows, None


def bench_model(name: str, args, workdir: Path) -> list[dict]:
    model, config, metadata, rows, labels = load(name, args)
    big = name != "quickstart"
    steps = args.steps_big if big and args.steps_big else model.halt_max_steps
    fp32 = export_model(model, config, metadata, workdir / f"{name}.onnx")
    int8 = quantize_int8(fp32, workdir / f"{name}.int8.onnx")
    backends: dict[str, tuple[Runner, str]] = {
        "torch eager fp32": (torch_runner(model, config, metadata, steps, False), "-")
    }
    if not args.no_compile:
        backends["torch compile fp32"] = (torch_runner(model, config, metadata, steps, True), "-")
    backends["onnxruntime fp32"] = (
        onnx_runner(fp32, steps, args.threads),
        f"{fp32.stat().st_size / 1e6:.1f}",
    )
    backends["onnxruntime int8"] = (
        onnx_runner(int8, steps, args.threads),
        f"{int8.stat().st_size / 1e6:.1f}",
    )
    batch = rows[: args.batch]
    reference = None
    out = []
    for backend, (run, size) in backends.items():
        answers = run(batch)
        reference = answers if reference is None else reference
        latency = median_seconds(lambda r=run: r(rows[:1]), args.repeats)
        per_batch = median_seconds(lambda r=run: r(batch), args.repeats)
        row = {
            "model": name, "params": count_parameters(model), "steps": steps, "backend": backend, "MB": size,
            "latency_ms": 1000 * latency, "throughput": len(batch) / per_batch,
            "agree": float((answers == reference).all(axis=1).mean()),
        }  # fmt: skip
        if labels is not None:
            all_answers = np.concatenate(
                [run(rows[i : i + args.batch]) for i in range(0, len(rows), args.batch)]
            )
            right = all_answers == labels[: len(all_answers)]
            row["exact"], row["cells"] = float(right.all(axis=1).mean()), float(right.mean())
        out.append(row)
        print(f"  {name:11s} {backend:20s} done", file=sys.stderr, flush=True)
    return out


def answers_of(run: Runner, rows: np.ndarray, batch: int) -> np.ndarray:
    return np.concatenate([run(rows[i : i + batch]) for i in range(0, len(rows), batch)])


def int8_schemes(args, workdir: Path) -> None:
    """One table: each int8 scheme, native and AVX2-emulated, against onnxruntime fp32."""
    import onnx

    model, config, metadata, rows, labels = load("quickstart", args)
    steps, batch = model.halt_max_steps, rows[: args.batch]
    fp32 = export_model(model, config, metadata, workdir / "fp32.onnx")
    reference = answers_of(onnx_runner(fp32, steps, args.threads), rows, args.batch)

    def scores(got: np.ndarray) -> str:
        same = f"{(got == reference).all(axis=1).mean():.3f}"
        if labels is None:
            return f"{same} | - | -"
        right = got == labels[: len(got)]
        return f"{same} | {right.all(axis=1).mean():.3f} | {right.mean():.3f}"

    def speed(run: Runner) -> str:
        return f"{len(batch) / median_seconds(lambda: run(batch), args.repeats):.1f}"

    print(
        f"| scheme | matmuls that can saturate | file MB | puzzles/s b={len(batch)} "
        "| native: same answers as fp32 | exact | cell | AVX2 emulated: same answers | exact | cell |"
    )
    print("|" + "---|" * 10)
    fp32_run = onnx_runner(fp32, steps, args.threads)
    print(f"| fp32 | - | {fp32.stat().st_size / 1e6:.1f} | {speed(fp32_run)} | {scores(reference)} | "
          f"{scores(reference)} |")  # fmt: skip
    for scheme in SCHEMES:
        path = quantize_int8(fp32, workdir / f"{scheme}.onnx", scheme=scheme)
        graph = onnx.load(str(path))
        total = sum(n.op_type == "MatMulInteger" for n in graph.graph.node)
        native = onnx_runner(path, steps, args.threads)
        emulated = onnx_runner(emulate_avx2(path, workdir / f"{scheme}.avx2.onnx"), steps, args.threads)
        print(f"| {scheme} | {len(saturation_risks(graph))} of {total} | {path.stat().st_size / 1e6:.1f} | "
              f"{speed(native)} | {scores(answers_of(native, rows, args.batch))} | "
              f"{scores(answers_of(emulated, rows, args.batch))} |", flush=True)  # fmt: skip
    print(f"\n{len(rows)} puzzles, {steps} steps, {os.cpu_count()} CPU cores visible, "
          f"{args.threads} threads; command:")  # fmt: skip
    print("    .venv/bin/python benchmarks/export.py " + " ".join(sys.argv[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="quickstart,sudoku_mlp,sudoku_att,arc")
    parser.add_argument("--quickstart", help="A trained quick-start run dir (else random weights).")
    parser.add_argument("--quickstart-data", help="Its dataset folder: held-out puzzles and exact accuracy.")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--puzzles", type=int, default=64, help="Rows for agreement (and accuracy).")
    parser.add_argument("--steps-big", type=int, default=None, help="Steps timed for the paper-size models.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--int8-schemes", action="store_true", help="Only the int8 schemes table.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.int8_schemes:
        with tempfile.TemporaryDirectory(prefix="trm-bench-int8-") as tmp:
            int8_schemes(args, Path(tmp))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="trm-bench-export-") as tmp:
        for name in args.models.split(","):
            rows.extend(bench_model(name, args, Path(tmp)))
    exact = any("exact" in r for r in rows)
    head = (
        "| model | params | steps timed | backend | file MB | latency/puzzle b=1 (ms) "
        f"| puzzles/s b={args.batch} "
        "| same answers as eager |" + (" exact acc | cell acc |" if exact else "")
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        line = (f"| {r['model']} | {r['params']:,} | {r['steps']} | {r['backend']} | {r['MB']} | "
                f"{r['latency_ms']:.1f} | {r['throughput']:.1f} | {r['agree']:.3f} |")  # fmt: skip
        if exact:
            line += f" {r['exact']:.3f} | {r['cells']:.3f} |" if "exact" in r else " - | - |"
        print(line)
    print(f"\n{os.cpu_count()} CPU cores visible, {args.threads} threads; command:")
    print("    .venv/bin/python benchmarks/export.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
