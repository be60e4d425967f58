"""Sudoku dataset builders (hub, files, generator) and the ``trm data sudoku`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from trm.cli import app
from trm.data.errors import InputError
from trm.data.format import open_split
from trm.data.loader import TrainLoader
from trm.data.sudoku import augment, count_solutions, format_grid, from_tokens, generate, is_valid_solution
from trm.data.sudoku.build import build_from_files, build_from_hub
from trm.data.sudoku.build_generated import build_from_generator
from trm.errors import OutputExistsError


def all_files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def decoded(split, rows=None):
    """(questions, answers) [E, N, N] of a split's examples."""
    n = split.metadata.grid_shape[0]
    rows = range(split.num_examples) if rows is None else rows
    return [(from_tokens(split.inputs[i], n), from_tokens(split.labels[i], n)) for i in rows]


def assert_valid_sudoku_split(split, num_aug):
    m = split.metadata
    n = m.grid_shape[0]
    assert (m.task, m.vocab_size, m.seq_len, m.num_puzzle_identifiers) == ("sudoku", n + 2, n * n, 1)
    assert (np.asarray(split.puzzle_identifiers) == 0).all()
    assert np.array_equal(split.puzzle_indices, np.arange(split.num_examples + 1))  # one example per puzzle
    assert (np.diff(split.group_indices) == 1 + num_aug).all()
    assert split.inputs.min() >= 1 and split.labels.min() >= 2  # blank 1, digits 2..N+1, no PAD
    for q, a in decoded(split):
        assert is_valid_solution(q, a)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    report = build_from_generator(out, size=6, train_count=12, test_count=5, num_aug=3, min_blanks=20, seed=1)
    return out, report


def test_generator_build_writes_valid_augmented_groups(generated):
    out, report = generated
    assert report.counts == {"train_puzzles": 12, "train_examples": 48, "test_puzzles": 5}
    train, test = open_split(out, "train"), open_split(out, "test")
    assert_valid_sudoku_split(train, num_aug=3)
    assert_valid_sudoku_split(test, num_aug=0)
    assert (train.num_groups, test.num_groups) == (12, 5)
    for g in range(3):  # augmented variants keep a unique solution and are not all the original
        variants = decoded(train, train.puzzles_of_group(g))
        assert all(count_solutions(q) == 1 for q, _ in variants)
        assert len({q.tobytes() for q, _ in variants}) > 1
    train_q = {q.tobytes() for q, _ in decoded(train)}
    assert not train_q & {q.tobytes() for q, _ in decoded(test)}  # disjoint, augmented variants included
    assert TrainLoader(train, batch_size=4).examples_per_epoch == 12


def test_generator_val_split_is_held_out_and_leaves_the_other_splits_as_they_were(generated, tmp_path):
    out, _ = generated
    report = build_from_generator(
        tmp_path / "v", size=6, train_count=12, test_count=5, num_aug=3, min_blanks=20, seed=1, val_count=4
    )
    assert report.counts["val_puzzles"] == 4
    val = open_split(tmp_path / "v", "val")
    assert_valid_sudoku_split(val, num_aug=0)
    for name in ("train", "test"):  # the same puzzles as a build without val
        a, b = open_split(out, name), open_split(tmp_path / "v", name)
        assert np.array_equal(np.asarray(a.inputs), np.asarray(b.inputs))
    seen = {q.tobytes() for name in ("train", "test") for q, _ in decoded(open_split(out, name))}
    assert not seen & {q.tobytes() for q, _ in decoded(val)}


def test_generator_ratings_are_recorded(generated):
    out, report = generated
    ratings = json.loads((out / "ratings.json").read_text())
    assert ratings == report.ratings
    assert sum(b["count"] for b in ratings["train"]["histogram"]) == 12
    assert open_split(out, "test").metadata.build["ratings"] == ratings["test"]
    stored = np.load(out / "train" / "ratings.npy")
    assert stored.shape == (12,) and (stored >= 0).all()


def test_same_seed_is_byte_identical_and_another_seed_differs(generated, tmp_path):
    out, _ = generated
    build_from_generator(  # two worker processes: the same bytes as one
        tmp_path / "a", size=6, train_count=12, test_count=5, num_aug=3, min_blanks=20, seed=1, workers=2
    )
    build_from_generator(
        tmp_path / "b", size=6, train_count=12, test_count=5, num_aug=3, min_blanks=20, seed=2
    )
    same, other = all_files(out), all_files(tmp_path / "a")
    assert same.keys() == other.keys() and same == other
    differ = all_files(tmp_path / "b")
    assert differ["train/inputs.npy"] != same["train/inputs.npy"]
    assert differ["test/inputs.npy"] != same["test/inputs.npy"]
    with pytest.raises(OutputExistsError, match="already holds a dataset"):
        build_from_generator(tmp_path / "a", size=6, train_count=2, test_count=1, num_aug=0, seed=0)
    assert all_files(tmp_path / "a") == other  # refused before anything was written


@pytest.fixture(scope="module")
def nine_by_nine():
    """Distinct 9x9 puzzles with unique solutions: 3 generated, each augmented into 8."""
    base = generate(9, count=3, seed=0)
    rng = np.random.default_rng(0)
    pairs = [augment(g.puzzle, g.solution, rng) for g in base for _ in range(8)]
    return [(q, a, 10 * i) for i, (q, a) in enumerate(pairs)]


def write_hub_csv(path, rows):
    lines = ["source,question,answer,rating"]
    lines += [f"test_src,{format_grid(q)},{format_grid(a)},{r}" for q, a, r in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_hub_builder_reads_the_downloaded_csvs(tmp_path, monkeypatch, nine_by_nine):
    import huggingface_hub

    files = {
        "train.csv": write_hub_csv(tmp_path / "train.csv", nine_by_nine[:20]),
        "test.csv": write_hub_csv(tmp_path / "test.csv", nine_by_nine[20:]),
    }
    calls = []

    def fake_download(repo_id, filename, *, repo_type, cache_dir=None):
        calls.append((repo_id, filename, repo_type))
        return files[filename]

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    report = build_from_hub(tmp_path / "ds", subsample=6, num_aug=2, seed=3, min_difficulty=50)
    assert sorted(calls) == [("sapientinc/sudoku-extreme", f, "dataset") for f in ("test.csv", "train.csv")]
    assert report.counts == {"train_puzzles": 6, "train_examples": 18, "test_puzzles": 4}
    train, test = open_split(tmp_path / "ds", "train"), open_split(tmp_path / "ds", "test")
    assert_valid_sudoku_split(train, num_aug=2)
    ratings = np.load(tmp_path / "ds" / "train" / "ratings.npy")
    assert (ratings >= 50).all() and len(set(ratings.tolist())) == 6  # min_difficulty filter, no repeats
    originals = {format_grid(q): r for q, _, r in nine_by_nine[:20]}
    for g in range(6):  # each group starts with the CSV row whose rating was stored
        q, _ = decoded(train, [int(train.group_indices[g])])[0]
        assert originals[format_grid(q)] == ratings[g]
    assert [format_grid(q) for q, _ in decoded(test)] == [format_grid(q) for q, _, _ in nine_by_nine[20:]]
    assert train.metadata.build["source"] == "hub:sapientinc/sudoku-extreme"


def test_hub_csv_with_a_wrong_answer_names_the_line(tmp_path, monkeypatch, nine_by_nine):
    import huggingface_hub

    rows = list(nine_by_nine[:5])
    q, a, r = rows[3]
    rows[3] = (q, np.roll(a, 1, axis=0), r)  # still a valid grid, but it changes clues
    path = write_hub_csv(tmp_path / "bad.csv", rows)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: path)
    with pytest.raises(InputError, match=r"bad.csv:5: the answer does not solve"):
        build_from_hub(tmp_path / "ds", subsample=None, num_aug=0)


def unsolvable(q, a):
    """Fill one blank with a digit that breaks no rule: the solution was unique, so now there is none."""
    n = q.shape[0]
    for r, c in zip(*np.nonzero(q == 0), strict=True):
        box = q[r // 3 * 3 : r // 3 * 3 + 3, c // 3 * 3 : c // 3 * 3 + 3]
        for d in range(1, n + 1):
            if d != a[r, c] and d not in q[r] and d not in q[:, c] and d not in box:
                bad = q.copy()
                bad[r, c] = d
                return bad
    raise AssertionError("no such cell")


def several_solutions(q):
    """Remove a clue from a minimal puzzle (the generator's are): two solutions or more."""
    bad = q.copy()
    bad[tuple(np.argwhere(q > 0)[0])] = 0
    return bad


def test_file_builder_rejects_and_reports_lines(tmp_path, nine_by_nine):
    good = [q for q, _, _ in nine_by_nine[:12]]
    q0, a0, _ = nine_by_nine[0]
    base = generate(9, count=1, seed=5)[0].puzzle
    lines = ["# my puzzles"] + [format_grid(q) for q in good[:5]]
    lines += [format_grid(unsolvable(q0, a0))]  # line 7
    lines += [format_grid(q) for q in good[5:]]
    lines += [format_grid(several_solutions(base))]  # line 15
    lines += [format_grid(good[2])]  # line 16: a repeat of line 4
    path = tmp_path / "puzzles.txt"
    path.write_text("\n".join(lines) + "\n")
    report = build_from_files(tmp_path / "ds", path, test_fraction=0.25, num_aug=2, seed=0)
    reasons = {(r.line, r.reason.split(" (")[0]) for r in report.rejected}
    assert reasons == {(7, "no solution"), (15, "several solutions"), (16, "repeats the puzzle of line 4")}
    assert all(r.file == str(path) for r in report.rejected)
    assert (tmp_path / "ds" / "rejected.txt").read_text().splitlines()[0] == f"{path}:7: no solution"
    assert report.counts == {"train_puzzles": 9, "train_examples": 27, "test_puzzles": 3}
    train, test = open_split(tmp_path / "ds", "train"), open_split(tmp_path / "ds", "test")
    assert_valid_sudoku_split(train, num_aug=2)
    assert_valid_sudoku_split(test, num_aug=0)
    kept = {format_grid(q) for q, _ in decoded(test)} | {
        format_grid(decoded(train, [int(train.group_indices[g])])[0][0]) for g in range(train.num_groups)
    }
    assert kept == {format_grid(q) for q in good}
    with pytest.raises(InputError, match=r"puzzles.txt:7: no solution"):
        build_from_files(tmp_path / "strict", path, strict=True, num_aug=0)


def test_file_builder_with_a_test_file_drops_overlap(tmp_path, nine_by_nine):
    train_csv = write_hub_csv(tmp_path / "train.csv", nine_by_nine[:10])
    test_txt = tmp_path / "test.txt"
    test_txt.write_text("\n".join(format_grid(q) for q, _, _ in nine_by_nine[8:14]) + "\n")
    report = build_from_files(tmp_path / "ds", train_csv, test_txt, num_aug=1, seed=0)
    assert [(r.line, r.reason.startswith("also in the test file")) for r in report.rejected] == [
        (10, True),
        (11, True),
    ]
    assert report.counts["train_puzzles"] == 8 and report.counts["test_puzzles"] == 6
    ratings = np.load(tmp_path / "ds" / "train" / "ratings.npy")
    assert ratings.tolist() == [10 * i for i in range(8)]  # ratings from the CSV are kept


def test_file_with_a_wrong_answer_is_an_error(tmp_path, nine_by_nine):
    rows = list(nine_by_nine[:4])
    q, a, r = rows[2]
    rows[2] = (q, a[::-1], r)
    path = write_hub_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(InputError, match=r"bad.csv:4:"):
        build_from_files(tmp_path / "ds", path, num_aug=0)


def test_cli_builds_reports_and_shows(tmp_path):
    runner = CliRunner()
    out = tmp_path / "ds"
    args = ["data", "sudoku", str(out), "--source", "generate", "--size", "4", "--train-count", "6"]
    result = runner.invoke(app, [*args, "--test-count", "3", "--num-aug", "2", "--show", "2"])
    assert result.exit_code == 0, result.output
    assert "6 training puzzles -> 18 examples, 3 test puzzles" in result.output
    assert "rating histogram" in result.output and "test puzzle 1:" in result.output
    assert open_split(out, "train").num_examples == 18
    again = runner.invoke(app, [*args, "--test-count", "3"])
    assert again.exit_code == 2 and "already holds a dataset; --force" in again.output
    assert open_split(out, "train").num_examples == 18  # the dataset is untouched
    forced = runner.invoke(app, [*args, "--test-count", "3", "--num-aug", "1", "--force"])
    assert forced.exit_code == 0, forced.output
    assert open_split(out, "train").num_examples == 12
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
    shown = runner.invoke(app, ["data", "sudoku", str(out), "--show", "1", "--show-split", "train"])
    assert shown.exit_code == 0 and "train puzzle 0:" in shown.output and "test puzzle" not in shown.output
    assert runner.invoke(app, ["data", "sudoku", str(out)]).exit_code != 0  # nothing to do
    assert "--source" in runner.invoke(app, ["data", "sudoku", "--help"]).output


def test_cli_lists_rejected_lines(tmp_path, nine_by_nine):
    path = tmp_path / "p.txt"
    q0, a0, _ = nine_by_nine[0]
    path.write_text(
        "\n".join([format_grid(q) for q, _, _ in nine_by_nine[:4]] + [format_grid(unsolvable(q0, a0))])
    )
    result = CliRunner().invoke(
        app, ["data", "sudoku", str(tmp_path / "ds"), "-s", "file", "--file", str(path), "--num-aug", "1"]
    )
    assert result.exit_code == 0, result.output
    assert f"rejected 1 puzzle(s):\n  {path}:5: no solution" in result.output


def originals(split) -> list[str]:
    """Each group's original puzzle (the first of the group), as text, in split order."""
    return [format_grid(decoded(split, [int(split.group_indices[g])])[0][0]) for g in range(split.num_groups)]


def test_file_builder_holds_val_puzzles_out_of_training_by_seed(tmp_path, nine_by_nine):
    path = write_hub_csv(tmp_path / "p.csv", nine_by_nine[:16])
    kw = {"test_fraction": 0.25, "train_count": 10, "num_aug": 1, "seed": 4}
    plain = build_from_files(tmp_path / "a", path, **kw)
    report = build_from_files(tmp_path / "b", path, val_count=3, **kw)
    assert report.counts == {"train_puzzles": 7, "train_examples": 14, "test_puzzles": 4, "val_puzzles": 3}
    assert plain.counts["train_puzzles"] == 10 and "val_puzzles" not in plain.counts
    a, b = (lambda name, root=root: open_split(root, name) for root in (tmp_path / "a", tmp_path / "b"))
    assert originals(a("test")) == originals(b("test"))  # the test split does not change with val_count
    val = b("val")
    assert_valid_sudoku_split(val, num_aug=0)
    held, kept, before = originals(val), originals(b("train")), originals(a("train"))
    assert sorted(held + kept) == sorted(before) and not set(held) & set(kept)  # a partition of the 10
    assert kept == [q for q in before if q not in held]  # training order kept
    assert b("train").metadata.build["options"]["val_count"] == 3
    other = build_from_files(tmp_path / "c", path, val_count=3, **{**kw, "seed": 5})
    assert other.counts["val_puzzles"] == 3 and originals(open_split(tmp_path / "c", "val")) != held
    with pytest.raises(InputError, match="val_count=10 leaves no training puzzle"):
        build_from_files(tmp_path / "d", path, val_count=10, **kw)
    assert not (tmp_path / "d").exists()


def test_hub_builder_holds_val_puzzles_out_of_the_subsample(tmp_path, monkeypatch, nine_by_nine):
    import huggingface_hub

    files = {
        "train.csv": write_hub_csv(tmp_path / "train.csv", nine_by_nine[:20]),
        "test.csv": write_hub_csv(tmp_path / "test.csv", nine_by_nine[20:]),
    }
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda repo, name, **k: files[name])
    build_from_hub(tmp_path / "a", subsample=6, num_aug=0, seed=3)
    report = build_from_hub(tmp_path / "b", subsample=6, num_aug=0, seed=3, val_count=2)
    assert report.counts == {"train_puzzles": 4, "train_examples": 4, "test_puzzles": 4, "val_puzzles": 2}
    held, kept = originals(open_split(tmp_path / "b", "val")), originals(open_split(tmp_path / "b", "train"))
    assert sorted(held + kept) == sorted(originals(open_split(tmp_path / "a", "train")))
    ratings = np.load(tmp_path / "b" / "val" / "ratings.npy")
    by_text = {format_grid(q): r for q, _, r in nine_by_nine[:20]}
    assert ratings.tolist() == [by_text[q] for q in held]  # each val puzzle keeps its CSV rating


def test_cli_val_count_for_generated_and_file_puzzles(tmp_path, nine_by_nine):
    runner = CliRunner()
    args = [
        "data",
        "sudoku",
        "--source",
        "generate",
        "--size",
        "4",
        "--train-count",
        "5",
        "--test-count",
        "3",
    ]
    plain = runner.invoke(app, [*args[:2], str(tmp_path / "a"), *args[2:], "--num-aug", "0"])
    result = runner.invoke(
        app, [*args[:2], str(tmp_path / "b"), *args[2:], "--num-aug", "0", "--val-count", "2"]
    )
    assert plain.exit_code == 0 and result.exit_code == 0, result.output
    assert "5 training puzzles -> 5 examples, 3 test puzzles, 2 validation puzzles (val/)" in result.output
    assert "validation" not in plain.output
    for name in ("train", "test"):  # generated: the next puzzles after the training ones, the rest unchanged
        assert originals(open_split(tmp_path / "a", name)) == originals(open_split(tmp_path / "b", name))
    assert open_split(tmp_path / "b", "val").num_groups == 2
    path = write_hub_csv(tmp_path / "p.csv", nine_by_nine[:8])
    from_file = runner.invoke(
        app,
        ["data", "sudoku", str(tmp_path / "f"), "-s", "file", "--file", path, "--test-fraction", "0.25",
         "--num-aug", "0", "--val-count", "2"],
    )  # fmt: skip
    assert from_file.exit_code == 0, from_file.output
    assert "4 training puzzles -> 4 examples, 2 test puzzles, 2 validation puzzles" in from_file.output
    refused = runner.invoke(app, [*args[:2], str(tmp_path / "c"), *args[2:], "--val-count", "-1"])
    assert refused.exit_code == 2 and "--val-count" in refused.output
