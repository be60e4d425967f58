"""Our training step against the peers' published PyPI packages, side by side in one process.

Peers: ``tiny-recursive-model`` (lucidrains; module ``tiny_recursive_model``) and ``nano-trm``
(module ``src.nn.models.trm``, a Lightning module). This script installs nothing: a peer that cannot
be imported gets a row saying so, with the import error and what is known about installing it.

Matched configuration: d=512, T=3, n=6, 2 blocks, vocab 11, 81 cells + 16 prefix positions (their
"register tokens" / puzzle-embedding prefix), batch 64 by default, for each token mixer a peer has:

- ``mlp``: ours ``sudoku_mlp`` (MLP-T, SwiGLU widths 512 over positions and 1536 over channels);
  lucidrains' ``MLPMixer1D`` (pre-norm GELU MLPs; widths chosen to match ours in parameters and
  FLOPs: 512 over positions, 2304 over channels); nano-trm ``use_mlp_t=True, ffn_expansion=4``.
- ``attention``: ours ``sudoku_att``; lucidrains with an ``x_transformers.Encoder`` (8 heads, rotary,
  SwiGLU of width 1536, RMSNorm); nano-trm with 1-D rotary attention.

Training rows: one step = what each trainer does per optimizer step: forward of one supervision
step on a persistent state, loss, backward, optimizer step (ours: the recipe's Adam-atan2 + sign-SGD + EMA;
lucidrains: AdamW + ``ema_pytorch.EMA`` as its ``Trainer`` does; nano-trm: AdamW (its Adam-atan2 is
an optional CUDA extension) after its gradient clipping). bf16 rows run under ``torch.autocast``
(ours, lucidrains) or nano-trm's own ``forward_dtype``. GFLOP/s uses each implementation's own matmul
FLOPs: ours from ``trm.models.flops_per_step``, the peers' counted by ``torch.utils.flop_counter`` on
one step (their architectures differ a little, so examples/s is the headline ratio).

Inference rows (``--infer-batches``, default 1 and 256): one supervision step without gradient, the
model in eval mode, on a persistent state (ours ``model(carry, batch)``, lucidrains
``model(seq, outputs, latents)``, nano-trm ``model(carry, batch)``), under the same dtype policy.

How to run (a separate venv keeps the project's .venv untouched)::

    python3 -m venv /tmp/peers
    /tmp/peers/bin/pip install torch==2.13.0 tiny-recursive-model
    # nano-trm pins Requires-Python ==3.12.1 and its dependencies pull a CUDA torch: install it bare
    /tmp/peers/bin/pip download --no-deps --python-version 3.12.1 nano-trm -d /tmp/peers/wheels
    /tmp/peers/bin/pip install --no-deps --ignore-requires-python /tmp/peers/wheels/nano_trm-*.whl
    /tmp/peers/bin/pip install lightning einops scikit-learn "scipy<1.17" omegaconf hydra-core \
        --only-binary :all: --no-binary antlr4-python3-runtime
    /tmp/peers/bin/pip install pydantic pyyaml typer rich tqdm safetensors
    echo /work/main/src > /tmp/peers/lib/python3.11/site-packages/trm-src.pth   # our package, no copy
    /tmp/peers/bin/python benchmarks/compare.py --batch 64 --steps 2 --warmup 1 --dtypes float32

(To reuse the project's torch instead of installing it again, make the venv and write the project
venv's site-packages path into a ``.pth`` file of the new venv before the first ``pip install``.)
An AVX2-only CPU is emulated with ``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
MKL_ENABLE_INSTRUCTIONS=AVX2`` (the fp32 matmuls are MKL's: the oneDNN limit alone leaves them on
AVX-512; docs/speed.md, "fp32 without bf16"). With ``--threads 1`` the summary also compares process
CPU seconds, which leave out the time spent waiting for a core on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import shlex
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import (  # noqa: E402
    DTYPES,
    machine,
    matmul_peak,
    run_config,
    time_steps,
    trm_infer_step,
    trm_step,
)
from trm.models import flops_per_step  # noqa: E402

D, T, N, VOCAB, CELLS, PREFIX = 512, 3, 6, 11, 81, 16
OUR_RECIPE = {"mlp": "sudoku_mlp", "attention": "sudoku_att"}
OURS_COMPILED = "trm (ours, compiled)"
# Environment variables that restrict the CPU kernels (how an AVX2-only CPU is emulated on a newer one:
# ATen's elementwise kernels, oneDNN, and MKL, which runs the fp32 matmuls).
ISA_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")
INSTALL_NOTES = {
    "tiny-recursive-model": "pip install tiny-recursive-model (brings x-transformers, ema-pytorch)",
    "nano-trm": "pip refuses it on Python != 3.12.1 ('Requires-Python ==3.12.1'); "
    "pip install --ignore-requires-python nano-trm works on 3.11",
}


@dataclass
class Row:
    impl: str
    variant: str
    dtype: str
    kind: str  # "train" or "infer"
    batch: int
    seconds: float | None = None  # median wall-clock seconds per step
    cpu_seconds: float | None = None  # median process CPU seconds per step (see ``_timed``)
    flops: float | None = None
    note: str = ""


def _batch(batch: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    inputs = torch.randint(1, VOCAB, (batch, CELLS), generator=gen)
    labels = torch.randint(1, VOCAB, (batch, CELLS), generator=gen)
    return inputs, labels


def lucidrains_step(variant: str, batch: int, dtype: torch.dtype, infer: bool = False) -> Callable[[], None]:
    from ema_pytorch import EMA
    from tiny_recursive_model import TinyRecursiveModel
    from tiny_recursive_model.mlp_mixer_1d import MLPMixer1D

    torch.manual_seed(0)
    if variant == "mlp":
        network = MLPMixer1D(
            dim=D, depth=2, seq_len=CELLS + PREFIX, expansion_factor=1, expansion_factor_token=4.5
        )
    else:
        from x_transformers import Encoder

        network = Encoder(dim=D, depth=2, heads=8, attn_dim_head=D // 8, rotary_pos_emb=True,
                          ff_glu=True, ff_swish=True, ff_mult=3, use_rmsnorm=True)  # fmt: skip
    model = TinyRecursiveModel(dim=D, num_tokens=VOCAB, network=network, num_refinement_blocks=T,
                               num_latent_refinements=N, num_register_tokens=PREFIX)  # fmt: skip
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1.0)
    ema = EMA(model, beta=0.999, update_every=1)
    seq, labels = _batch(batch, torch.Generator().manual_seed(0))
    outputs, latents = model.get_initial()
    state = {"outputs": outputs, "latents": latents}

    if infer:
        model.eval()

        @torch.no_grad()
        def infer_step() -> None:
            with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
                out, lat, _, _ = model(seq, state["outputs"], state["latents"])
            state["outputs"], state["latents"] = out, lat

        return infer_step

    def step() -> None:
        with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
            loss, _, out, lat, _, _ = model(seq, state["outputs"], state["latents"], labels=labels)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        ema.update()
        state["outputs"], state["latents"] = out, lat

    return step


def nano_step(variant: str, batch: int, dtype: torch.dtype, infer: bool = False) -> Callable[[], None]:
    with contextlib.redirect_stdout(io.StringIO()):  # it prints banners on import
        from src.nn.models.trm import TRMModule

        torch.manual_seed(0)
        model = TRMModule(
            hidden_size=D, num_layers=2, num_heads=8, H_cycles=T, L_cycles=N, N_supervision=16,
            ffn_expansion=4, puzzle_emb_dim=D, puzzle_emb_len=PREFIX, use_mlp_t=variant == "mlp",
            pos_emb_type=None if variant == "mlp" else "1d", vocab_size=VOCAB, num_puzzles=1,
            batch_size=batch, seq_len=CELLS, forward_dtype=dtype,
        )  # fmt: skip
    model.train(not infer)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=1.0)
    inputs, labels = _batch(batch, torch.Generator().manual_seed(0))
    data = {"input": inputs, "output": labels, "puzzle_identifiers": torch.zeros(batch, dtype=torch.int32)}
    state = {"carry": model.initial_carry(data)}

    if infer:

        @torch.no_grad()
        def infer_step() -> None:
            state["carry"], _ = model(state["carry"], data)

        return infer_step

    def step() -> None:
        carry, loss, _, _ = model.compute_loss_and_metrics(state["carry"], data)
        (loss / batch).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        state["carry"] = carry

    return step


PEERS: dict[str, tuple[str, Callable[..., Callable[[], None]]]] = {
    "tiny-recursive-model": ("tiny_recursive_model", lucidrains_step),
    "nano-trm": ("src.nn.models.trm", nano_step),
}


def counted_flops(step: Callable[[], None]) -> float:
    """Matmul FLOPs of one call of ``step`` (forward + backward), by torch's flop counter."""
    with FlopCounterMode(display=False) as counter:
        step()
    return float(counter.get_total_flops())


def measure(args: argparse.Namespace, variant: str, dtype_name: str, kind: str, batch: int) -> list[Row]:
    """Rows of ours and every peer for one (mixer, dtype, train/infer, batch).

    Every implementation is built and warmed up first, then the timed steps run round-robin (ours,
    peer, peer, ours, ...), so a machine that speeds up or slows down during the run moves every row
    alike instead of whichever was measured then.
    """
    dtype, infer = DTYPES[dtype_name], kind == "infer"
    config = run_config(OUR_RECIPE[variant])
    ours = Row("trm (ours)", variant, dtype_name, kind, batch)
    if infer:
        step = trm_infer_step(config, batch, dtype)
        ours.flops = counted_flops(step)  # also its warm-up step
    else:
        step = trm_step(config, batch, dtype)
        ours.flops = flops_per_step(config, batch)
    timed = [(ours, step, args.warmup - infer)]
    if args.compile and not infer:  # the trainer's train.compile; its compile runs in the warm-up step
        compiled = Row(OURS_COMPILED, variant, dtype_name, kind, batch, flops=ours.flops)
        timed.append((compiled, trm_step(config, batch, dtype, compile=True), max(args.warmup, 1)))
    rows = [row for row, _, _ in timed]
    for name, (module, make) in PEERS.items():
        if args.peers and name not in args.peers:
            continue
        row = Row(name, variant, dtype_name, kind, batch)
        rows.append(row)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                importlib.import_module(module)
        except Exception as e:  # report it as a row, never skip silently
            row.note = f"not importable ({type(e).__name__}: {e}); install: {INSTALL_NOTES[name]}"
            continue
        try:
            step = make(variant, batch, dtype, infer=infer)
            row.flops = counted_flops(step)  # one step: counts as a warm-up
            timed.append((row, step, max(args.warmup - 1, 0)))
        except Exception as e:
            _failed(row, e)
    for _, step, warmup in timed:
        time_steps(step, 0, warmup)
    times: dict[int, list[tuple[float, float]]] = {id(row): [] for row, _, _ in timed}
    for _ in range(args.steps):
        for row, step, _ in timed:
            if row.note:  # failed in an earlier round
                continue
            try:
                times[id(row)].append(_timed(step))
            except Exception as e:
                _failed(row, e)
    for row, _, _ in timed:
        if not row.note:
            row.seconds = statistics.median(wall for wall, _ in times[id(row)])
            row.cpu_seconds = statistics.median(cpu for _, cpu in times[id(row)])
    return rows


def _timed(step: Callable[[], None]) -> tuple[float, float]:
    """(wall, process CPU) seconds of one step. With one thread the CPU time leaves out the time the
    process waited for a core, so on a shared machine it is the steadier of the two; with more
    threads it adds up every thread's time (idle OpenMP threads spin), so it is not a step time."""
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - wall, time.process_time() - cpu


def _failed(row: Row, e: Exception) -> None:
    last = traceback.extract_tb(e.__traceback__)[-1]
    row.note = f"failed: {type(e).__name__}: {e} ({Path(last.filename).name}:{last.lineno})"


def print_table(rows: list[Row], peaks: dict[str, float]) -> None:
    header = (
        f"{'implementation':<22} {'mixer':<9} {'dtype':<8} {'step':<9} {'step s':>8} {'cpu s':>8} "
        f"{'ex/s':>8} {'GFLOP/s':>8} {'%peak':>6} {'ours/peer ex/s':>14}"
    )
    print(header)
    print("-" * len(header))
    ours = {(r.variant, r.dtype, r.kind, r.batch): r for r in rows if r.impl == "trm (ours)"}
    for r in rows:
        what = f"{r.kind} b{r.batch}"
        if r.seconds is None:
            print(f"{r.impl:<22} {r.variant:<9} {r.dtype:<8} {what:<9} {r.note}")
            continue
        gflops = (r.flops or 0) / r.seconds / 1e9
        ours_seconds = ours[(r.variant, r.dtype, r.kind, r.batch)].seconds
        ratio = (
            f"{r.seconds / ours_seconds:.2f}x" if not r.impl.startswith("trm (ours") and ours_seconds else ""
        )
        print(
            f"{r.impl:<22} {r.variant:<9} {r.dtype:<8} {what:<9} {r.seconds:>8.3f} "
            f"{r.cpu_seconds or 0:>8.3f} {r.batch / r.seconds:>8.2f} "
            f"{gflops:>8.1f} {100 * gflops / peaks[r.dtype]:>5.1f}% {ratio:>14}"
        )
        if r.note:
            print(f"    note: {r.note}")


def print_summary(rows: list[Row], one_thread: bool) -> None:
    """Ours (eager, and compiled when measured) against the fastest peer of each row group, then the
    latency of one inference supervision step. With one thread, also the ratio of CPU seconds."""
    groups: dict[tuple, list[Row]] = {}
    for r in rows:
        if r.seconds is not None:
            groups.setdefault((r.variant, r.dtype, r.kind, r.batch), []).append(r)
    print("\nours / fastest peer, examples per second (> 1: ours is faster):")
    for (variant, dtype, kind, batch), group in groups.items():
        peers = [r for r in group if not r.impl.startswith("trm (ours")]
        if not peers:
            continue
        fastest = min(peers, key=lambda r: r.seconds)
        mine = ", ".join(f"{r.impl.removeprefix('trm (').rstrip(')')} {fastest.seconds / r.seconds:.2f}x"
                         for r in group if r.impl.startswith("trm (ours"))  # fmt: skip
        if one_thread:
            by_cpu = min(peers, key=lambda r: r.cpu_seconds)
            ours = [r for r in group if r.impl == "trm (ours)"]
            mine += f"; by CPU time {by_cpu.cpu_seconds / ours[0].cpu_seconds:.2f}x ({by_cpu.impl})"
        print(f"  {variant:<9} {dtype:<8} {kind} b{batch}: {mine} (fastest peer: {fastest.impl})")
    latency = [(key, group) for key, group in groups.items() if key[2] == "infer"]
    if latency:
        print("\nlatency of one supervision step without gradient (ms, median wall-clock):")
    for (variant, dtype, _, batch), group in latency:
        print(
            f"  {variant:<9} {dtype:<8} b{batch}: "
            + ", ".join(f"{r.impl} {1e3 * r.seconds:.0f}" for r in group)
        )


def _load() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=3, help="timed rounds, round-robin (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first (peers: one is the FLOP count)")
    p.add_argument("--variants", default="mlp,attention", help="mlp,attention")
    p.add_argument("--dtypes", default="float32", help="float32,bfloat16")
    p.add_argument("--infer-batches", default="1,256", help="batches of the inference rows ('' for none)")
    p.add_argument("--no-train", action="store_true", help="inference rows only")
    p.add_argument("--peers", default="", help="subset of: " + ",".join(PEERS) + " (default all)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--compile", action="store_true", help="also time our training step with train.compile")
    args = p.parse_args(argv)
    args.peers = [x for x in args.peers.split(",") if x]
    if args.threads:
        torch.set_num_threads(args.threads)
    rows_of_peaks = args.batch * (CELLS + PREFIX)
    dtypes = [d for d in args.dtypes.split(",") if d]
    # only the dtypes measured (an emulated bf16 product takes minutes on one thread without bf16)
    peaks = {name: matmul_peak(rows_of_peaks, DTYPES[name]) for name in dtypes}
    print(f"machine: {machine()}; ATen kernels {torch.backends.cpu.get_cpu_capability()}")
    isa = {k: os.environ[k] for k in ISA_VARIABLES if k in os.environ}
    if isa:
        print("ISA limits: " + " ".join(f"{k}={v}" for k, v in isa.items()))
    print(f"load average at the start: {_load()}")
    print(
        f"matmul peak ([{rows_of_peaks}, 512] x [512, 3072]): "
        + ", ".join(f"{name} {peak:.1f}" for name, peak in peaks.items())
        + " GFLOP/s"
    )
    kinds = [] if args.no_train else [("train", args.batch)]
    kinds += [("infer", int(b)) for b in args.infer_batches.split(",") if b]
    rows: list[Row] = []
    for dtype_name in dtypes:
        for variant in [v for v in args.variants.split(",") if v]:
            for kind, batch in kinds:
                rows += measure(args, variant, dtype_name, kind, batch)
    print_table(rows, peaks)
    print_summary(rows, torch.get_num_threads() == 1)
    print(f"\nload average at the end: {_load()}")
    print(f"\nbatch {args.batch}, d={D}, T={T}, n={N}, seq {CELLS}+{PREFIX}; ratio > 1: ours is faster")
    print("reproduce: " + shlex.join([sys.executable, "benchmarks/compare.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
