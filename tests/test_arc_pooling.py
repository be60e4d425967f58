"""Votes pooled across evaluations (the reference's checkpoint ensemble) equal a hand recount: in the API, in
`trm arc evaluate --pool-votes` over several checkpoints, and in the trainer's ``eval.pool_votes``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trm.data.arc import augment
from trm.data.arc.build import build_arc_dataset
from trm.data.arc.encode import encode_grid
from trm.data.arc.identifiers import VariantTable
from trm.data.arc.score import load_solutions
from trm.data.arc.voting import VoteTable, arc_evaluate
from trm.data.format import open_split

V = 6  # variants of the one evaluation task


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    rng = np.random.default_rng(3)
    src = tmp_path_factory.mktemp("src")
    pairs = []
    for _ in range(4):
        g = rng.integers(0, 10, size=(3, 4))
        pairs.append({"input": g.tolist(), "output": np.flipud(g).tolist()})
    (src / "ev.json").write_text(json.dumps({"train": pairs[:2], "test": pairs[2:]}))
    out = tmp_path_factory.mktemp("ds") / "ds"
    build_arc_dataset(out, train_sources=[], eval_sources=[str(src / "ev.json")], variants=V)
    assert VariantTable.load(out).tasks[0].count == V
    return out


def _predictions(split, table, answer_of_variant) -> tuple[np.ndarray, np.ndarray]:
    """Tokens that answer ``answer_of_variant(v, test) -> (grid in the original frame, q_halt)`` in every
    variant's own frame, as a model would."""
    preds, qs = [], []
    for p in range(split.num_puzzles):
        ident = int(split.puzzle_identifiers[p])
        _, t, cmap = table.lookup(ident)
        for j, _e in enumerate(split.examples_of_puzzle(p)):
            grid, q = answer_of_variant(p, j)
            preds.append(encode_grid(augment.apply(t, cmap, grid)))
            qs.append(q)
    return np.stack(preds), np.array(qs)


def test_pooled_votes_equal_a_hand_recount(dataset):
    split, table = open_split(dataset, "test"), VariantTable.load(dataset)
    truths = load_solutions(path=dataset)["ev"]
    wrong1 = [np.zeros_like(t) for t in truths]
    wrong2 = [np.full_like(t, 7) for t in truths]
    # evaluation 1: half the variants answer right (low q), half wrong1 (high q): the tie goes to wrong1.
    # evaluation 2: the same with wrong2. Alone, neither ranks the truth first; pooled, truth has 6 votes.
    ans1 = _predictions(split, table, lambda v, j: (truths[j], -2.0) if v % 2 else (wrong1[j], 2.0))
    ans2 = _predictions(split, table, lambda v, j: (truths[j], -1.0) if v % 2 == 0 else (wrong2[j], 1.0))
    solutions = {"ev": truths}
    pool = VoteTable()
    r1 = arc_evaluate(split, table, *ans1, solutions=solutions, pooled=pool)
    assert r1.metrics["arc/pass@1"] == 0.0 and r1.metrics["arc/pass@2"] == 1.0
    assert r1.metrics["arc/pooled/pass@1"] == 0.0  # after one evaluation the pool is that evaluation
    r2 = arc_evaluate(split, table, *ans2, solutions=solutions, pooled=pool)
    assert r2.metrics["arc/pass@1"] == 0.0  # this evaluation alone
    assert r2.metrics["arc/pooled/pass@1"] == 1.0  # the two pooled
    sig = lambda q: 1 / (1 + np.exp(-q))  # noqa: E731
    for j in range(2):  # hand recount of the pool: (count, mean sigmoid(q)) per candidate
        ranked = pool.ranked(0, j)
        got = [(c.count, round(c.mean_q, 12), c.grid.tolist()) for c in ranked]
        want = [
            (V, round((3 * sig(-2.0) + 3 * sig(-1.0)) / 6, 12), truths[j].tolist()),
            (3, round(sig(2.0), 12), wrong1[j].tolist()),
            (3, round(sig(1.0), 12), wrong2[j].tolist()),
        ]
        assert got == want
    assert r2.submission["ev"][0]["attempt_1"] == truths[0].tolist()  # the submission is the pool's
    # without a pool every evaluation stands alone (the default)
    alone = arc_evaluate(split, table, *ans2, solutions=solutions)
    assert alone.metrics["arc/pass@1"] == 0.0 and not any("pooled" in k for k in alone.metrics)


def _tiny_run(data: Path, out: Path, **train):
    from test_arc_train import _config

    cfg = _config(data, out)
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


def test_trainer_pools_votes_across_its_evaluations(dataset, tmp_path):
    from trm.training.loop import Trainer

    cfg = _tiny_run(dataset, tmp_path / "run", max_steps=2, eval_interval=1, global_batch_size=4)
    cfg.eval.pool_votes = True
    trainer = Trainer(cfg, progress=False)
    try:
        result = trainer.run()
    finally:
        trainer.loader.close()
    from trm.training.logging import read_metrics

    evals = read_metrics(tmp_path / "run", "eval")
    assert len(evals) >= 2
    pool = trainer.evaluator.pooled
    cast = sum(c.count for j in range(2) for c in pool.ranked(0, j)) + pool.no_grid
    assert cast == len(evals) * 2 * V  # every evaluation's vote on every variant of both test inputs
    assert "arc/pooled/pass@2" in result.metrics and "arc/pass@2" in result.metrics


def test_cli_pools_checkpoints_like_the_api(dataset, tmp_path):
    from typer.testing import CliRunner

    from trm.checkpoints import load_any
    from trm.cli import app
    from trm.evaluation.predict_vote import predict_and_vote
    from trm.training.loop import train

    cfg = _tiny_run(dataset, tmp_path / "run", max_steps=2, checkpoint_every=1, global_batch_size=4)
    train(cfg, progress=False)
    steps = sorted((tmp_path / "run" / "checkpoints").glob("step_*"))
    assert len(steps) == 2
    pool = VoteTable()
    for s in steps:
        model, _, _ = load_any(str(s), device="cpu")
        _, api = predict_and_vote(model, dataset, batch_size=32, dtype="float32", pooled=pool)
    args = ["arc", "evaluate", "--device", "cpu", "--pool-votes", "--out", str(tmp_path / "sub.json")]
    args += ["--report", str(tmp_path / "report.json")]
    res = CliRunner().invoke(app, args + [a for s in steps for a in ("-c", str(s))])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["arc/pooled/pass@2"] == api.metrics["arc/pooled/pass@2"]
    assert json.loads((tmp_path / "sub.json").read_text()) == api.submission
    assert all(f"{s}/arc/pass@2" in report for s in steps)
    res = CliRunner().invoke(app, ["arc", "evaluate", "-c", str(steps[0]), "-c", str(steps[1])])
    assert res.exit_code != 0 and "--pool-votes" in res.output
