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


@pytest.mark.slow
def test_tiny_trm_beats_copying_the_question(tmp_path):
    result, losses, copy_accuracy = _run(tmp_path, steps=300)
    assert result.metrics["token_accuracy"] > copy_accuracy
