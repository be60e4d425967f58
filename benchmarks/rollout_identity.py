"""Check that two versions of trm give bit-identical rollouts: evaluation (all steps and early halting),
the solver's traces, test-time compute and the ONNX runtime, on one checkpoint.

Run the ``dump`` half under each version, then ``compare``:

    python benchmarks/rollout_identity.py relabel RUN_DIR     # optional: split "relabeled" (see relabel)
    PYTHONPATH=/path/to/old/src python benchmarks/rollout_identity.py dump RUN_DIR old.npz [SPLIT]
    PYTHONPATH=$PWD/src        python benchmarks/rollout_identity.py dump RUN_DIR new.npz [SPLIT]
    python benchmarks/rollout_identity.py compare old.npz new.npz

``dump`` uses only APIs both versions have. It runs the checkpoint as saved and again with its halting
head perturbed (seeded), so that early halting and the best-q selection actually fire.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

LIMIT = 100  # evaluated puzzles (a shared 2-core machine); batch sizes below leave a ragged last batch


def _runs(model, split, tag: str, out: dict) -> None:
    import torch

    from trm.evaluation.evaluate import evaluate
    from trm.evaluation.ttc import evaluate_ttc

    cpu = dict(device="cpu", dtype=torch.float32)
    for name, kw in {
        "all_b64": dict(batch_size=64),
        "all_b37_steps11": dict(batch_size=37, halt_max_steps=11),
        "early_b64": dict(batch_size=64, early_halt=True),
        "early_b29_steps10": dict(batch_size=29, early_halt=True, halt_max_steps=10),
    }.items():
        res = evaluate(model, split, return_predictions=True, limit=LIMIT, **kw, **cpu)
        metrics = {k: v for k, v in res.metrics.items() if k not in ("seconds", "puzzles_per_second")}
        out[f"{tag}/{name}/metrics"] = np.array(json.dumps(metrics, sort_keys=True))
        for field in ("predictions", "q_halt", "steps"):
            out[f"{tag}/{name}/{field}"] = getattr(res, field)
    for spec in ("noise:k=3,sigma=0.3", "steps:n=10,exit=q+noise:k=2,sigma=0.2,select=vote"):
        res = evaluate_ttc(model, split, spec, batch_size=8, max_rows=10, limit=16, **cpu)
        metrics = {k: v for k, v in res.metrics.items() if k not in ("seconds", "puzzles_per_second")}
        out[f"{tag}/ttc:{spec}/metrics"] = np.array(json.dumps(metrics, sort_keys=True))


def relabel(run_dir: str) -> None:
    """Write split ``relabeled``: the first LIMIT test questions, answered by the model itself after 8
    steps (first half) or 3 steps (second half), so exact accuracy is neither 0 nor 1 and moves per step."""
    import torch

    from trm.data.format import open_split, write_split
    from trm.evaluation.evaluate import evaluate
    from trm.inference.solver import Solver

    torch.set_num_threads(1)
    model = Solver.load(run_dir, device="cpu").model
    test = open_split(Path(run_dir) / "data", "test")
    cpu = dict(device="cpu", dtype=torch.float32, batch_size=64, limit=LIMIT, return_predictions=True)
    late = evaluate(model, test, halt_max_steps=8, **cpu).predictions
    early = evaluate(model, test, halt_max_steps=3, **cpu).predictions
    half = LIMIT // 2
    labels = np.concatenate([late[:half], early[half:]])
    write_split(
        Path(run_dir) / "data", "relabeled", inputs=np.asarray(test.inputs[:LIMIT]), labels=labels,
        puzzle_identifiers=np.zeros(LIMIT, np.int32), puzzle_indices=np.arange(LIMIT + 1),
        group_indices=np.arange(LIMIT + 1), metadata=test.metadata,
    )  # fmt: skip


def dump(checkpoint: str, target: str, split_name: str = "test") -> None:
    import torch

    from trm.data.format import open_split
    from trm.inference.solver import Solver
    from trm.inference.ttc import TTCRunner, parse_spec

    torch.set_num_threads(1)
    solver = Solver.load(checkpoint, device="cpu")
    model = solver.model
    split = open_split(Path(checkpoint) / "data", split_name)  # a run dir from `trm quickstart`
    out: dict[str, np.ndarray] = {}
    for tag in ("saved", "perturbed"):
        if tag == "perturbed":
            g = torch.Generator().manual_seed(0)
            with torch.no_grad():
                model.q_head.weight.add_(torch.randn(model.q_head.weight.shape, generator=g) * 0.3)
                model.q_head.bias.fill_(0.5)
        _runs(model, split, tag, out)
        questions = [
            solver.task.decode(np.asarray(split.inputs[i]), split.metadata.grid_shape) for i in range(20)
        ]
        sols = solver.solve_many(questions, steps=10, batch_size=7)
        out[f"{tag}/solve/grids"] = np.stack([s.grid for sol in sols for s in sol.trace])
        out[f"{tag}/solve/q"] = np.array([s.q_halt for sol in sols for s in sol.trace])
        runner = TTCRunner(
            model, parse_spec("steps:n=9,exit=q+augment:k=2+noise:k=3,sigma=0.4"),
            task="sudoku", grid_shape=tuple(split.metadata.grid_shape), vocab_size=split.metadata.vocab_size,
            device=torch.device("cpu"), dtype=torch.float32, max_rows=11,
        )  # fmt: skip
        with torch.inference_mode():
            cands = runner.run(np.asarray(split.inputs[:6]), np.zeros(6), record_steps=True)
        for field in ("best", "best_q", "best_step", "last", "last_q", "steps", "calls", "every", "every_q"):
            out[f"{tag}/ttc_run/{field}"] = getattr(cands, field)
        try:
            from trm.export import export_model
            from trm.runtime import OnnxSolver
        except ImportError:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = export_model(model, solver.config, solver.metadata, Path(tmp) / "m.onnx")
            onnx = OnnxSolver(path, threads=1)
            logits, halt = onnx.step_outputs(np.asarray(split.inputs[:9], dtype=np.int64), 5)
            out[f"{tag}/onnx/logits"], out[f"{tag}/onnx/halt"] = np.stack(logits), np.stack(halt)
            preds, q = onnx.run(np.asarray(split.inputs[:9], dtype=np.int64), 5)
            out[f"{tag}/onnx/preds"], out[f"{tag}/onnx/q"] = preds, q
    np.savez(target, **out)
    print(f"{len(out)} arrays written to {target}")


def compare(a_path: str, b_path: str) -> int:
    a, b = np.load(a_path), np.load(b_path)
    if set(a.files) != set(b.files):
        print("different keys:", sorted(set(a.files) ^ set(b.files)))
        return 1
    bad = 0
    for key in sorted(a.files):
        x, y = a[key], b[key]
        same = x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()
        if not same:
            bad += 1
        detail = "" if same else f"  <-- differs ({x.dtype}{x.shape} vs {y.dtype}{y.shape})"
        print(f"{'same' if same else 'DIFF'}  {key}{detail}")
    print(f"{len(a.files) - bad} of {len(a.files)} arrays bit-identical")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "dump":
        dump(*sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "relabel":
        relabel(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
