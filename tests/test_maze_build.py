"""Maze datasets: CSV layout, hub download path, determinism, augmentation round trips, the CLI."""

from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
from typer.testing import CliRunner

from trm.cli import app
from trm.data import dihedral
from trm.data.errors import InputError
from trm.data.format import open_split
from trm.data.maze.augment import transform, undo, variants
from trm.data.maze.build import build_from_files, build_from_hub, build_generated, read_csv, write_csv
from trm.data.maze.generate import generate_records
from trm.data.maze.grid import PATH, format_maze
from trm.data.maze.metrics import is_valid_shortest_path
from trm.data.maze.search import count_shortest_paths, shortest_path_length, solve


@pytest.fixture
def csv_pair(tmp_path):
    train = generate_records(6, side=8, seed=1)
    test = generate_records(3, side=8, seed=1, stream=1)
    write_csv(tmp_path / "train.csv", train)
    write_csv(tmp_path / "test.csv", test)
    return tmp_path, train, test


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_csv_round_trip_keeps_every_column(csv_pair):
    root, train, _ = csv_pair
    back = read_csv(root / "train.csv", side=8)
    assert [(r.source, r.rating) for r in back] == [(r.source, r.rating) for r in train]
    assert all(
        np.array_equal(a.question, b.question) and np.array_equal(a.answer, b.answer)
        for a, b in zip(back, train, strict=True)
    )
    assert (root / "train.csv").read_text().splitlines()[0] == "source,question,answer,rating"


def test_csv_errors_name_the_line_and_the_column_in_that_line(tmp_path, csv_pair):
    root, train, _ = csv_pair
    lines = (root / "train.csv").read_text().splitlines()
    source, question, answer, rating = lines[2].split(",")
    bad_answer = answer[:5] + "x" + answer[6:]
    (tmp_path / "bad.csv").write_text(
        "\n".join([lines[0], lines[1], ",".join([source, question, bad_answer, rating])])
    )
    with pytest.raises(InputError) as e:
        read_csv(tmp_path / "bad.csv")
    assert e.value.line == 3 and e.value.column == len(source) + len(question) + 2 + 6
    assert "answer: unknown character 'x'" in str(e.value)
    quoted = f'"{source}","{question[:-1]}",{answer},{rating}'
    (tmp_path / "short.csv").write_text(lines[0] + "\n" + quoted + "\n")
    with pytest.raises(InputError, match=r"short\.csv:2:.*question: maze has 63 characters"):
        read_csv(tmp_path / "short.csv")
    (tmp_path / "nohdr.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"nohdr\.csv:1: header"):
        read_csv(tmp_path / "nohdr.csv")


def test_build_from_files_layout_groups_and_augmentation_round_trip(tmp_path, csv_pair):
    root, train, test = csv_pair
    metas = build_from_files(tmp_path / "ds", root / "train.csv", root / "test.csv", augment=True)
    tr, te = open_split(tmp_path / "ds", "train"), open_split(tmp_path / "ds", "test")
    m = tr.metadata
    assert (m.task, m.vocab_size, m.seq_len, m.grid_shape, m.num_puzzle_identifiers) == (
        "maze",
        6,
        64,
        (8, 8),
        1,
    )
    assert metas["train"].num_groups == 6 and tr.num_puzzles == tr.num_examples == 48
    assert te.num_groups == te.num_puzzles == te.num_examples == 3  # test never augmented
    assert np.all(np.asarray(tr.puzzle_identifiers) == 0) and tr.metadata.build["labels_are_shortest"] == 6
    for g, rec in enumerate(train):
        puzzles = list(tr.puzzles_of_group(g))
        assert len(puzzles) == 8
        for t, p in enumerate(puzzles):
            (e,) = tr.examples_of_puzzle(p)
            q = np.asarray(tr.inputs[e]).reshape(8, 8)
            a = np.asarray(tr.labels[e]).reshape(8, 8)
            assert np.array_equal(undo(t, q), rec.question) and np.array_equal(undo(t, a), rec.answer)
            assert is_valid_shortest_path(q, a)  # a transformed label is still a shortest path


def test_every_transform_round_trips_and_keeps_the_path_length():
    rec = generate_records(1, side=9, seed=2)[0]
    pairs = variants(rec.question, rec.answer)
    assert np.array_equal(pairs[0][0], rec.question)
    assert len({q.tobytes() for q, _ in pairs}) == 8
    for t, (q, a) in enumerate(pairs):
        assert np.array_equal(transform(dihedral.inverse(t), q, a)[0], rec.question)
        assert np.array_equal(undo(t, a), rec.answer)
        assert shortest_path_length(q) == shortest_path_length(rec.question)
        assert np.count_nonzero(a == PATH) == np.count_nonzero(rec.answer == PATH)


def _pairs(root: Path, split: str) -> list[tuple[np.ndarray, np.ndarray]]:
    s = open_split(root, split)
    side = s.metadata.grid_shape[0]
    return [(np.asarray(s.inputs[e]).reshape(side, side), np.asarray(s.labels[e]).reshape(side, side))
            for e in range(s.num_examples)]  # fmt: skip


def test_relabel_gives_every_variant_the_tie_break_of_its_own_grid(tmp_path, csv_pair):
    root, _, _ = csv_pair
    build_from_files(tmp_path / "files", root / "train.csv", root / "test.csv", augment=True)
    assert open_split(tmp_path / "files", "train").metadata.build["relabel"] is False  # hub and files keep
    # Generated sets relabel by default; --no-relabel keeps each original's label, transformed.
    gen = {"num_train": 30, "num_test": 2, "side": 8, "seed": 1, "augment": True, "statistics": False}
    build_generated(tmp_path / "relabelled", **gen)
    runner, kept_root = CliRunner(), tmp_path / "kept"
    argv = ["data", "maze", str(kept_root), "-s", "generate", "--train-count", "30", "--test-count", "2"]
    res = runner.invoke(app, [*argv, "--size", "8", "--seed", "1", "--augment", "--no-relabel"])
    assert res.exit_code == 0, res.output
    kept, relab = _pairs(kept_root, "train"), _pairs(tmp_path / "relabelled", "train")
    assert all(np.array_equal(q, r) for (q, _), (r, _) in zip(kept, relab, strict=True))  # same questions
    assert all(np.array_equal(a, solve(q)) for q, a in relab)  # one rule for every variant
    assert all(is_valid_shortest_path(q, a) for q, a in relab)
    train = open_split(kept_root, "train")
    assert train.metadata.build["relabel"] is False
    for g, rec in enumerate(generate_records(30, side=8, seed=1)):
        for t, p in enumerate(train.puzzles_of_group(g)):
            (e,) = train.examples_of_puzzle(p)
            assert np.array_equal(undo(t, np.asarray(train.labels[e]).reshape(8, 8)), rec.answer)
    # A maze with several shortest paths: transforming its label breaks the tie another way somewhere.
    several = [i for i, (q, _) in enumerate(kept) if count_shortest_paths(q) > 1]
    assert several and sum(not np.array_equal(kept[i][1], relab[i][1]) for i in several) > 0
    assert all(np.array_equal(kept[i][1], relab[i][1]) for i in range(len(kept)) if i not in several)


def test_same_seed_gives_byte_identical_datasets_and_subsampling_is_seeded(tmp_path, csv_pair):
    root, train, _ = csv_pair
    args = (root / "train.csv", root / "test.csv")
    build_from_files(tmp_path / "a", *args, subsample=3, seed=7)
    build_from_files(tmp_path / "b", *args, subsample=3, seed=7)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    picks = set()
    for seed in range(6):
        build_from_files(tmp_path / f"s{seed}", *args, subsample=3, seed=seed)
        picks.add(np.asarray(open_split(tmp_path / f"s{seed}", "train").inputs).tobytes())
    assert len(picks) > 1
    build_generated(tmp_path / "g1", num_train=4, num_test=2, side=7, seed=3, statistics=False)
    build_generated(tmp_path / "g2", num_train=4, num_test=2, side=7, seed=3, statistics=False)
    assert _files(tmp_path / "g1") == _files(tmp_path / "g2")
    build_generated(tmp_path / "g3", num_train=9, num_test=2, side=7, seed=3, statistics=False)
    g1, g3 = open_split(tmp_path / "g1", "test"), open_split(tmp_path / "g3", "test")
    assert np.array_equal(g1.inputs, g3.inputs)  # the test set does not depend on num_train


def test_hub_builder_downloads_through_huggingface_hub(tmp_path, csv_pair, monkeypatch):
    root, _, test = csv_pair
    calls = []

    def fake_download(repo_id, filename, *, repo_type=None, revision=None, cache_dir=None):
        calls.append((repo_id, filename, repo_type, revision))
        return str(root / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    metas = build_from_hub(tmp_path / "hub", revision="abc123", test_limit=2)
    assert calls == [
        ("sapientinc/maze-30x30-hard-1k", "train.csv", "dataset", "abc123"),
        ("sapientinc/maze-30x30-hard-1k", "test.csv", "dataset", "abc123"),
    ]
    assert (
        metas["test"].num_examples == 2 and metas["train"].build["repo_id"] == "sapientinc/maze-30x30-hard-1k"
    )
    te = open_split(tmp_path / "hub", "test")
    assert format_maze(np.asarray(te.inputs[1])) == format_maze(test[1].question)


def test_cli_builds_generated_and_local_datasets(tmp_path, csv_pair):
    root, _, _ = csv_pair
    runner = CliRunner()
    out = tmp_path / "cli"
    res = runner.invoke(
        app,
        [
            "data",
            "maze",
            str(out),
            "--source",
            "generate",
            "--train-count",
            "5",
            "--test-count",
            "2",
            "--size",
            "8",
            "--augment",
            "--csv-dir",
            str(tmp_path / "csv"),
            "--seed",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    assert open_split(out, "train").num_examples == 40 and "distinct shortest paths" in res.output
    assert len(read_csv(tmp_path / "csv" / "test.csv")) == 2
    res = runner.invoke(
        app, ["data", "maze", str(tmp_path / "local"), "--source", "hub", "--repo", str(root)]
    )
    assert res.exit_code == 0, res.output
    assert open_split(tmp_path / "local", "train").num_examples == 6
    res = runner.invoke(app, ["data", "maze", str(tmp_path / "x"), "--source", "file"])
    assert res.exit_code != 0 and "--file and --test-file" in res.output
    local = ["data", "maze", str(tmp_path / "local")]
    res = runner.invoke(app, [*local, "--source", "hub", "--repo", str(root)])
    assert res.exit_code == 2 and "already holds a dataset; --force" in res.output
    old_names = ["--source", "file", "--train-csv", str(root / "train.csv")]
    old_names += ["--test-csv", str(root / "test.csv")]
    res = runner.invoke(app, [*local, *old_names, "--force"])
    assert res.exit_code == 0, res.output  # the old option names still work
    assert open_split(tmp_path / "local", "train").metadata.build["source"] == "files"


def test_val_split_generated_apart_or_held_out_of_the_training_mazes(tmp_path, csv_pair):
    build_generated(tmp_path / "a", num_train=4, num_test=2, side=7, seed=2)
    build_generated(tmp_path / "b", num_train=4, num_test=2, side=7, seed=2, num_val=3)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    for split in ("train", "test"):  # a third stream: train and test do not change with the val count
        for name in ("inputs.npy", "labels.npy"):
            assert a[f"{split}/{name}"] == b[f"{split}/{name}"]
    val = open_split(tmp_path / "b", "val")
    assert val.num_examples == 3 and val.metadata.build["split"] == "val"
    root, train, _ = csv_pair
    metas = build_from_files(tmp_path / "f", root / "train.csv", root / "test.csv", val_count=2, seed=1)
    assert (metas["train"].num_groups, metas["val"].num_groups) == (4, 2)
    held = {format_maze(np.asarray(q)) for q in open_split(tmp_path / "f", "val").inputs}
    kept = {format_maze(np.asarray(q)) for q in open_split(tmp_path / "f", "train").inputs}
    assert held <= {format_maze(r.question) for r in train} and not held & kept
    with pytest.raises(InputError, match="val_count=6 leaves no training maze"):
        build_from_files(tmp_path / "g", root / "train.csv", root / "test.csv", val_count=6)
    out = tmp_path / "cli"
    args = [
        "data",
        "maze",
        str(out),
        "-s",
        "generate",
        "--size",
        "7",
        "--train-count",
        "3",
        "--test-count",
        "2",
    ]
    res = CliRunner().invoke(app, [*args, "--val-count", "2"])
    assert res.exit_code == 0, res.output
    assert open_split(out, "val").num_examples == 2 and f"{out / 'val'}: 2 mazes" in res.output
