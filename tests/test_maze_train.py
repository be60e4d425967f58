"""A tiny TRM trains on small generated mazes through the real trainer (end-to-end integration).

6x6 mazes (3x3 rooms), MLP-T mixer, d=32, T=2, n=2, 4 supervision steps, AdamW. Measured on 2 shared
CPU cores: the training loss falls from ~1.85 to ~0.45 within 100 steps; by ~300 steps the held-out
token accuracy (~0.82) beats copying the question (~0.77: every cell right except the path), which
the slow test asserts. Exact solutions need far longer training than a test can spend.
"""

import json

import numpy as np
import pytest

import trm
from trm.config import load_recipe
from trm.data.format import open_split
from trm.data.maze.build import build_generated
from trm.data.maze.grid import format_maze
from trm.data.maze.metrics import is_valid_shortest_path


def _run(tmp_path, steps: int):
    data = tmp_path / "data"
    build_generated(data, num_train=400, num_test=100, side=6, seed=0, augment=True, statistics=False)
    cfg = load_recipe(
        "maze",
        overrides={
            "out_dir": str(tmp_path / "run"),
            "data.path": str(data),
            "model.hidden_size": 32,
            "model.num_heads": 4,
            "model.mixer": "mlp_t",
            "model.H_cycles": 2,
            "model.L_cycles": 2,
            "model.halt_max_steps": 4,
            "model.puzzle_emb": False,
            "model.puzzle_emb_len": 4,
            "model.width_multiple": 32,
            "train.global_batch_size": 64,
            "train.max_steps": steps,
            "train.eval_interval": None,
            "train.optimizer": "adamw",
            "train.lr": 3e-3,
            "train.lr_warmup_steps": 20,
            "train.lr_min_ratio": 0.1,
            "train.weight_decay": 0.1,
            "train.ema": False,
            "train.device": "cpu",
            "train.log_every": 10,
            "eval.batch_size": 100,
            "logging.tensorboard": False,
        },
    )
    result = trm.train(cfg, progress=False)
    logged = [json.loads(line) for line in (result.out_dir / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in logged if r["kind"] == "train"]
    test = open_split(data, "test")
    copy_accuracy = float(np.mean(np.asarray(test.inputs) == np.asarray(test.labels)))
    return result, losses, copy_accuracy


def test_tiny_trm_loss_falls_on_small_mazes(tmp_path):
    result, losses, copy_accuracy = _run(tmp_path, steps=100)
    assert result.step == 100 and len(losses) >= 5
    assert np.mean(losses[-3:]) < 0.5 * losses[0]
    m = result.metrics
    assert 0.6 < m["token_accuracy"] <= 1.0  # chance is ~0.2 over the 5 cell kinds
    assert 0.0 <= m["valid_shortest_path"] <= m["valid_path"] <= 1.0
    assert 0.7 < copy_accuracy < 0.85  # sanity of the baseline the slow test compares against

    # `trm solve` path: the checkpoint solves a maze given as text, with a trace and pictures.
    from trm.inference.solver import Solver
    from trm.viz.render import refinement_png

    test = open_split(tmp_path / "data", "test")
    question = np.asarray(test.inputs[0]).reshape(6, 6)
    solver = Solver.load(result.out_dir, device="cpu")
    solution = solver.solve(format_maze(question))
    assert np.array_equal(solution.question, question) and solution.task == "maze"
    assert len(solution.trace) == 4 and solution.answer.shape == (6, 6)
    assert solution.valid == is_valid_shortest_path(question, solution.answer)
    png = refinement_png(solution.trace, tmp_path / "steps.png", question=question, task="maze")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_tiny_trm_beats_copying_the_question(tmp_path):
    result, losses, copy_accuracy = _run(tmp_path, steps=300)
    assert result.metrics["token_accuracy"] > copy_accuracy
