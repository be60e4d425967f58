"""Our fused CPU paths against the plain PyTorch ops they replace, isolated, at the paper's shapes.

Each row times the same computation two ways in one process, alternating (best of ``--repeats``):

- attention forward + backward, q, k, v [B, 8, 97, 64]: ``F.scaled_dot_product_attention`` against our
  CPU training kernel ``trm.models.kernels.AttentionFn`` (what the attention mixer runs with gradient);
- rotary on the q|k slice of a fused [B, 97, 3, 8, 64] qkv product: the rotate-half formula with
  full-width tables on q and on k against one ``rope`` call on both;
- one MLP-T supervision step of inference at batch 1 (``sudoku_mlp``): each SwiGLU weight cast on every
  call against once per step (``cast_weight`` inside ``reuse_buffers``; the plain side swaps in a
  ``cast_weight`` that casts on every call).

    .venv/bin/python benchmarks/cpu_kernels.py --threads 2
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import DTYPES, machine, run_config, trm_infer_step  # noqa: E402
from trm.models import kernels  # noqa: E402
from trm.models.attention import Rotary, rope  # noqa: E402

H, L, HD = 8, 97, 64


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_of_pair(plain: Callable[[], object], ours: Callable[[], object], repeats: int) -> tuple:
    """Best seconds of each after one warm-up each, the two alternating call by call."""
    plain(), ours()
    times = [(_seconds(plain), _seconds(ours)) for _ in range(repeats)]
    return min(t[0] for t in times), min(t[1] for t in times)


def attention_pair(batch: int, dtype: torch.dtype) -> tuple[Callable, Callable]:
    q, k, v = (torch.randn(batch, H, L, HD, dtype=dtype, requires_grad=True) for _ in range(3))
    upstream = torch.randn(batch, H, L, HD, dtype=dtype)

    def run(fn: Callable) -> Callable[[], None]:
        return lambda: fn(q, k, v).backward(upstream)

    return run(F.scaled_dot_product_attention), run(kernels.AttentionFn.apply)


def rope_reference(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """``x * cos + rotate_half(x) * sin`` with full-width tables cos, sin [..., hd] broadcast to x."""
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin


def rope_pair(batch: int, dtype: torch.dtype) -> tuple[Callable, Callable]:
    qkv = torch.randn(batch, L, 3, H, HD, dtype=dtype)
    cos, sin = Rotary(HD, L, theta=10_000.0).tables(dtype)  # [L, hd/2], the model's tables
    full_cos, full_sin = torch.cat((cos, cos), -1), torch.cat((sin, sin), -1)
    q, k, _ = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # [B, H, L, hd] views
    plain = lambda: (rope_reference(q, full_cos, full_sin), rope_reference(k, full_cos, full_sin))  # noqa: E731
    fused = lambda: rope(qkv[:, :, :2], cos[:, None, None], sin[:, None, None])  # noqa: E731
    return plain, fused


def cast_pair(dtype: torch.dtype) -> tuple[Callable, Callable]:
    step = trm_infer_step(run_config("sudoku_mlp"), 1, dtype)

    cached = kernels.cast_weight

    def every_call() -> None:
        kernels.cast_weight = lambda w, dtype: w.detach().to(dtype)  # each call casts, as before
        try:
            step()
        finally:
            kernels.cast_weight = cached

    return every_call, step


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--dtypes", default="bfloat16,float32")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"machine: {machine()}")
    header = f"{'what':<44} {'dtype':<9} {'plain ms':>9} {'ours ms':>9} {'speed-up':>9}"
    print(header + "\n" + "-" * len(header))
    for name in [d for d in args.dtypes.split(",") if d]:
        dtype = DTYPES[name]
        rows = [
            (f"attention fwd+bwd [{args.batch}, {H}, {L}, {HD}]", attention_pair(args.batch, dtype)),
            (f"rotary on q and k [{args.batch}, {L}, 2, {H}, {HD}]", rope_pair(args.batch, dtype)),
        ]
        if dtype != torch.float32:  # fp32 weights need no cast
            rows.append(("sudoku_mlp inference step, batch 1 (casts)", cast_pair(dtype)))
        for what, (plain, ours) in rows:
            with torch.no_grad() if "rotary" in what else nullcontext():
                t_plain, t_ours = best_of_pair(plain, ours, args.repeats)
            ms = f"{1e3 * t_plain:>9.1f} {1e3 * t_ours:>9.1f}"
            print(f"{what:<44} {name:<9} {ms} {t_plain / t_ours:>8.2f}x")
    print("\nreproduce: " + shlex.join([sys.executable, "benchmarks/cpu_kernels.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
