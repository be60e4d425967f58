"""``trm serve`` throughput: solves per second with concurrent clients, batched vs one request at a time.

A quickstart-size TRM (random weights: speed does not depend on them) for 6x6 Sudoku is served by
:func:`trm.serve.app.create_app`; ``--clients`` coroutines post ``POST /api/solve`` back to back through
httpx's in-process ASGI transport (no sockets, so the table measures the app and the model, not the
network). Each row runs ``--requests`` solves of generated puzzles and reports solves/s, the mean batch
the queue formed, and latency percentiles. ``max_batch=1`` is the unbatched baseline.

    .venv/bin/python benchmarks/serve_throughput.py
    .venv/bin/python benchmarks/serve_throughput.py --clients 1 8 32 --requests 128 --threads 2
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import time

import numpy as np


def make_served(device: str):
    import torch

    from trm.config import load_recipe
    from trm.data.format import DatasetMetadata
    from trm.device import pick_device
    from trm.inference.solver import Solver
    from trm.models import build_model
    from trm.serve.registry import ServedModel

    meta = DatasetMetadata(
        task="sudoku", vocab_size=8, seq_len=36, grid_shape=(6, 6), num_puzzle_identifiers=1
    )
    config = load_recipe("quickstart")
    torch.manual_seed(0)
    model = build_model(config, meta).to(pick_device(device))
    solver = Solver(model, config, meta)
    return {"quickstart": ServedModel(name="quickstart", source="random weights", solver=solver)}


async def run_row(models, texts, clients: int, max_batch: int, window_s: float) -> dict:
    import httpx

    from trm.serve.app import create_app
    from trm.serve.request_io import Limits

    app = create_app(
        models, Limits(max_batch=max_batch, batch_window_s=window_s, max_pending=max(clients, 1))
    )
    queue = list(texts)
    latencies: list[float] = []

    async def client(c: httpx.AsyncClient) -> None:
        while queue:
            body = {"puzzle": queue.pop()}
            t = time.perf_counter()
            r = await c.post("/api/solve", json=body)
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200:
                raise RuntimeError(f"{r.status_code}: {r.text}")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as c:
        await c.post("/api/solve", json={"puzzle": texts[0]})  # warm-up
        app.state.queue.batch_sizes.clear()
        start = time.perf_counter()
        await asyncio.gather(*(client(c) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    lat = np.asarray(latencies) * 1000
    return {
        "clients": clients,
        "max_batch": max_batch,
        "solves/s": len(texts) / elapsed,
        "mean batch": float(np.mean(app.state.queue.batch_sizes)),
        "p50 ms": float(np.percentile(lat, 50)),
        "p95 ms": float(np.percentile(lat, 95)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--requests", type=int, default=96, help="solves per row")
    p.add_argument("--window-ms", type=float, default=5.0, help="batching window")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (1: no spin-waiting on a busy box)"
    )
    args = p.parse_args()

    import torch

    torch.set_num_threads(args.threads)

    from trm.data.sudoku import format_grid, generate

    texts = [format_grid(g.puzzle) for g in generate(6, count=args.requests, seed=1)]
    models = make_served(args.device)
    rows = []
    for clients in args.clients:
        for max_batch in (1, 32):
            rows.append(asyncio.run(run_row(models, texts, clients, max_batch, args.window_ms / 1000)))
            print(f"  done: {clients} clients, max_batch {max_batch}", file=sys.stderr, flush=True)
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{r[k]:.1f}" if isinstance(r[k], float) else str(r[k]) for k in cols) + " |")
    print(
        f"\n{torch.get_num_threads()} threads, device {args.device}, quickstart-size model, 8 steps per solve"
    )
    print("reproduce: .venv/bin/python " + shlex.join(sys.argv))


if __name__ == "__main__":
    main()
