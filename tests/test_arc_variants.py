"""``trm arc evaluate --variants K``: K variants per task (always the identity, the rest seeded), voted by
the full evaluation's code; K >= the number of variants is the full evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from trm.data.arc.build import build_arc_dataset
from trm.data.format import open_split
from trm.evaluation.arc_variants import chosen_puzzles, predict_and_vote_variants, variant_subset
from trm.evaluation.predict_vote import predict_and_vote

V = 7  # variants per task


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    rng = np.random.default_rng(5)
    src = tmp_path_factory.mktemp("src")
    names = []
    for t in range(3):
        pairs = []
        for _ in range(3 + t % 2):  # 1 or 2 test inputs
            g = rng.integers(0, 10, size=(3, 3))
            pairs.append({"input": g.tolist(), "output": np.fliplr(g).tolist()})
        (src / f"t{t}.json").write_text(json.dumps({"train": pairs[:2], "test": pairs[2:]}))
        names.append(str(src / f"t{t}.json"))
    out = tmp_path_factory.mktemp("ds") / "ds"
    build_arc_dataset(out, train_sources=[], eval_sources=names, variants=V)
    return out


def test_k_variants_per_task_with_the_identity_seeded_and_stable(dataset):
    split = open_split(dataset, "test")
    firsts = set(split.group_indices[:-1].tolist())
    for k in (1, 3):
        chosen = chosen_puzzles(split, k, seed=0)
        assert len(chosen) == k * split.num_groups and firsts <= set(chosen.tolist())
        groups = np.searchsorted(split.group_indices, chosen, side="right") - 1
        assert np.array_equal(np.bincount(groups), np.full(split.num_groups, k))
        assert np.array_equal(chosen, chosen_puzzles(split, k, seed=0))
    draws = {tuple(chosen_puzzles(split, 3, seed=s)) for s in range(6)}
    assert len(draws) > 1  # the seed chooses
    assert np.array_equal(chosen_puzzles(split, V + 5, seed=0), np.arange(split.num_puzzles))
    sub, examples = variant_subset(split, 3, seed=1)
    assert np.array_equal(sub.inputs, split.inputs[examples])
    assert np.array_equal(sub.puzzle_identifiers, split.puzzle_identifiers[chosen_puzzles(split, 3, seed=1)])
    for p in range(sub.num_puzzles):  # every subset example sits in the puzzle it came from
        for e in sub.examples_of_puzzle(p):
            full = int(examples[e])
            owner = int(np.searchsorted(split.puzzle_indices, full, side="right") - 1)
            assert split.puzzle_identifiers[owner] == sub.puzzle_identifiers[p]
    with pytest.raises(ValueError, match="positive"):
        chosen_puzzles(split, 0)


def _model(dataset):
    from test_arc_train import _config
    from trm.models import build_model

    torch.manual_seed(0)
    config = _config(dataset, dataset.parent / "run")
    return build_model(config, open_split(dataset, "test").metadata).eval(), config


def test_voting_over_k_variants_casts_k_votes_per_test_input_and_all_equals_the_full_evaluation(dataset):
    model, _ = _model(dataset)
    split = open_split(dataset, "test")
    tests = np.diff(split.puzzle_indices)[split.group_indices[:-1]]  # test inputs per task
    _, two = predict_and_vote_variants(model, dataset, variants=2, batch_size=16, dtype="float32")
    cast = sum(
        c.count for k in range(split.num_groups) for j in range(tests[k]) for c in two.votes.ranked(k, j)
    )
    assert cast + two.votes.no_grid == 2 * int(tests.sum())
    assert two.metrics["arc/variants_per_task"] == 2 and two.metrics["arc/seconds_per_task"] > 0
    _, full = predict_and_vote(model, dataset, batch_size=16, dtype="float32")
    _, every = predict_and_vote_variants(model, dataset, variants=V, batch_size=16, dtype="float32")
    assert every.submission == full.submission
    assert {k: v for k, v in every.metrics.items() if "per_task" not in k} == full.metrics


def test_cli_variants_reports_time_per_task(dataset, tmp_path):
    from typer.testing import CliRunner

    from trm.checkpoints import save_checkpoint
    from trm.cli import app

    model, config = _model(dataset)
    save_checkpoint(tmp_path / "run", step=1, epoch=0.0, model=model, config=config,
                    metadata=open_split(dataset, "test").metadata)  # fmt: skip
    args = [
        "arc",
        "evaluate",
        "-c",
        str(tmp_path / "run"),
        "--device",
        "cpu",
        "--variants",
        "2",
        "--seed",
        "3",
    ]
    args += ["--out", str(tmp_path / "sub.json"), "--report", str(tmp_path / "report.json")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "3 tasks" in result.output and "2 variants per task, seed 3" in result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["arc/variants_per_task"] == 2 and report["arc/seconds_per_task"] > 0
