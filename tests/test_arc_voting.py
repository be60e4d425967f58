"""Voting ranks as specified, pass@K with both task scores, submissions, scoring, multi-process gathering."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from trm.cli import app
from trm.data.arc import augment
from trm.data.arc.build import build_arc_dataset
from trm.data.arc.encode import encode_grid
from trm.data.arc.identifiers import VariantTable
from trm.data.arc.score import aggregate, load_solutions, score_submission
from trm.data.arc.voting import (
    VoteTable,
    arc_evaluate,
    make_submission,
    vote_on_dataset,
    write_submission,
)
from trm.data.format import open_split


def _sig(q: float) -> float:
    return 1 / (1 + np.exp(-q))


def test_ranking_is_count_then_mean_sigmoid_then_bytes():
    a, b, c, d = (np.full((2, 2), v, np.uint8) for v in (1, 2, 3, 4))
    v = VoteTable()
    for grid, qs in ((a, [0, 0, 0]), (b, [2, 2, -1]), (c, [9]), (d, [9])):
        for q in qs:
            v.add(0, 0, grid, q)
    v.add(0, 0, None, 5.0)
    ranked = v.ranked(0, 0)
    assert [int(x.grid[0, 0]) for x in ranked] == [2, 1, 3, 4]  # b beats a on mean sigmoid; c, d tie -> bytes
    assert [x.count for x in ranked] == [3, 3, 1, 1]
    assert ranked[0].mean_q == pytest.approx((2 * _sig(2) + _sig(-1)) / 3)
    assert v.no_grid == 1 and v.ranked(0, 1) == []
    # a grid of another shape is another candidate, even with the same cells
    v.add(0, 0, np.full((1, 4), 1, np.uint8), 0.0)
    assert len(v.ranked(0, 0)) == 5


def test_aggregate_gives_fractional_and_strict_task_scores():
    ranks = {"t1": [0, None], "t2": [1], "t3": [None, None, 2]}
    m = aggregate(ranks, ks=(1, 2, 3))
    assert m["pass@1"] == pytest.approx((0.5 + 0 + 0) / 3)
    assert m["pass@2"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert m["pass@3"] == pytest.approx((0.5 + 1 + 1 / 3) / 3)
    assert (m["pass@1_strict"], m["pass@2_strict"], m["pass@3_strict"]) == (
        0.0,
        pytest.approx(1 / 3),
        pytest.approx(1 / 3),
    )
    assert m["test_pass@2"] == pytest.approx(2 / 6) and m["num_test_inputs"] == 6


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    rng = np.random.default_rng(5)
    src = tmp_path_factory.mktemp("src")
    for kind, n in (("training", 1), ("evaluation", 2)):
        (src / kind).mkdir()
        for i in range(n):
            pairs = []
            for _ in range(4):
                g = rng.integers(0, 10, size=rng.integers(2, 6, size=2))
                pairs.append({"input": g.tolist(), "output": np.flipud(g).tolist()})
            (src / kind / f"{kind[:2]}{i}.json").write_text(
                json.dumps({"train": pairs[:2], "test": pairs[2:]})
            )
    out = tmp_path_factory.mktemp("ds") / "ds"
    build_arc_dataset(
        out, train_sources=[str(src / "training")], eval_sources=[str(src / "evaluation")], variants=6
    )
    return out


def hand_predictions(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """ev0 test 0: 4 variants right, 2 agree on one wrong grid. ev0 test 1: 2 right, 3 wrong, 1 no grid.
    ev1: all right. Expected: pass@1 = (1/2 + 1) / 2, pass@2 = 1, pass@1_strict = 1/2."""
    split, table = open_split(root, "test"), VariantTable.load(root)
    sols = load_solutions(path=root)
    preds = np.zeros((split.num_examples, 900), np.uint8)
    q = np.zeros(split.num_examples, np.float32)
    for p in range(split.num_puzzles):
        info, t, cmap = table.lookup(int(split.puzzle_identifiers[p]))
        v = int(split.puzzle_identifiers[p]) - info.first  # variant number within its task
        for j, e in enumerate(split.examples_of_puzzle(p)):
            truth = sols[info.name][j]
            wrong = (truth + 1) % 10
            right = info.name == "ev1" or (j == 0 and v < 4) or (j == 1 and v < 2)
            q[e] = 1.0 if right else 3.0  # the wrong answers are more confident: count must win
            if info.name == "ev0" and j == 1 and v == 5:
                continue  # all PAD: no grid
            preds[e] = encode_grid(augment.apply(t, cmap, truth if right else wrong))
    return preds, q


def test_voting_end_to_end_on_hand_made_predictions(dataset, tmp_path):
    preds, q = hand_predictions(dataset)
    res = vote_on_dataset(dataset, preds, q, submission_path=tmp_path / "submission.json")
    m = res.metrics
    assert m["arc/pass@1"] == pytest.approx(0.75) and m["arc/pass@1_strict"] == pytest.approx(0.5)
    assert m["arc/pass@2"] == 1.0 and m["arc/pass@2_strict"] == 1.0
    assert m["arc/no_grid"] == 1 and m["arc/num_tasks"] == 2 and m["arc/num_test_inputs"] == 4
    assert res.ranks == {"ev0": [0, 1], "ev1": [0, 0]}
    top = res.votes.ranked(VariantTable.load(dataset).task_by_name()["ev0"], 1)
    assert [c.count for c in top] == [3, 2] and top[0].mean_q == pytest.approx(_sig(3.0))
    # the written submission scores the same as the votes, through the independent scorer
    scored = score_submission(tmp_path / "submission.json", load_solutions(path=dataset))
    assert scored["metrics"]["pass@1"] == pytest.approx(0.75) and scored["metrics"]["pass@2"] == 1.0
    # fresh every evaluation: a second call is not influenced by the first
    again = vote_on_dataset(dataset, preds, q)
    assert again.metrics == res.metrics and [c.count for c in again.votes.ranked(0 + 1, 1)] == [3, 2]


def test_scoring_true_outputs_is_100_and_shifted_is_0(dataset, tmp_path):
    sols = load_solutions(path=dataset)
    true_sub = {k: [{"attempt_1": g.tolist(), "attempt_2": g.tolist()} for g in v] for k, v in sols.items()}
    shifted = {k: [{"attempt_1": ((g + 1) % 10).tolist(), "attempt_2": np.roll(g, 1, 0).tolist()} for g in v]
               for k, v in sols.items()}  # fmt: skip
    write_submission(tmp_path / "true.json", true_sub)
    write_submission(tmp_path / "shifted.json", shifted)
    for name, expect in (("true.json", 1.0), ("shifted.json", 0.0)):
        m = score_submission(tmp_path / name, sols)["metrics"]
        assert m["pass@1"] == m["pass@2"] == m["pass@2_strict"] == expect
    second_only = {k: [{"attempt_1": [[0]], "attempt_2": g.tolist()} for g in v] for k, v in sols.items()}
    m = score_submission(second_only, sols)["metrics"]
    assert (m["pass@1"], m["pass@2"]) == (0.0, 1.0)
    res = CliRunner().invoke(app, ["arc", "score", str(tmp_path / "true.json"), "--solutions", str(dataset)])
    assert res.exit_code == 0 and "100.00%" in res.output


def test_arc1_submission_of_true_outputs_scores_100():
    sols = load_solutions(set_name="arc1")
    assert len(sols) == 400 and sum(map(len, sols.values())) == 419
    sub = {k: [{"attempt_1": g.tolist(), "attempt_2": [[0]]} for g in v] for k, v in sols.items()}
    assert score_submission(sub, sols)["metrics"]["pass@1"] == 1.0
    del sub[next(iter(sub))]
    m = score_submission(sub, sols)["metrics"]
    assert m["missing_tasks"] == 1 and m["pass@2"] == pytest.approx(399 / 400)


def test_submission_format_and_bad_submissions(dataset):
    preds, q = hand_predictions(dataset)
    res = vote_on_dataset(dataset, preds, q)
    assert set(res.submission) == {"ev0", "ev1"}
    for entries in res.submission.values():
        assert len(entries) == 2 and all(set(e) == {"attempt_1", "attempt_2"} for e in entries)
    sub = make_submission(VoteTable(), VariantTable.load(dataset))  # no votes: placeholders
    assert sub["ev0"][0] == {"attempt_1": [[0]], "attempt_2": [[0]]}
    sols = load_solutions(path=dataset)
    with pytest.raises(ValueError, match="task ev0: 1 entries for 2 test inputs"):
        score_submission({"ev0": [{"attempt_1": [[1]]}]}, sols)
    with pytest.raises(ValueError, match="none of the submission's 1 tasks"):
        score_submission({"zzz": [{"attempt_1": [[1]]}]}, sols)


def _rank_worker(rank: int, world: int, root: str, port: int, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        preds, q = hand_predictions(Path(root))
        idx = np.arange(len(preds))[rank::world]  # interleaved shards
        split, table = open_split(root, "test"), VariantTable.load(root)
        res = arc_evaluate(split, table, preds[idx], q[idx], indices=idx, solutions=load_solutions(path=root))
        Path(out, f"rank{rank}.json").write_text(
            json.dumps({"metrics": res.metrics, "submission": res.submission})
        )
    finally:
        dist.destroy_process_group()


def test_two_processes_gather_to_the_single_process_result(dataset, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=_rank_worker, args=(r, 2, str(dataset), port, str(tmp_path))) for r in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    preds, q = hand_predictions(dataset)
    single = vote_on_dataset(dataset, preds, q)
    for r in range(2):
        got = json.loads((tmp_path / f"rank{r}.json").read_text())
        assert got["metrics"] == single.metrics and got["submission"] == single.submission


def test_task_picture_is_a_png(dataset, tmp_path):
    from PIL import Image

    from trm.data.arc.tasks_io import reload_task
    from trm.viz.arc import task_png

    preds, q = hand_predictions(dataset)
    res = vote_on_dataset(dataset, preds, q)
    table = VariantTable.load(dataset)
    k = table.task_by_name()["ev0"]
    task = reload_task(table.tasks[k].source, "ev0")
    path = task_png(task, tmp_path / "ev0.png", test_index=1, candidates=res.votes.ranked(k, 1))
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > im.size[1]  # 2 demo rows + a test row of 4 panels
