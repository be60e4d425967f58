"""Grid datasets: vocabulary round trip, augmentations (same map on input and output, exact inverse),
the seeded split, atomic builds, the stored tokens and the ``grid`` codec built from the metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trm.data import dihedral
from trm.data.errors import InputError
from trm.data.format import open_split
from trm.data.grid import augment
from trm.data.grid.build import GridOptions, assign_splits, build_grids
from trm.data.grid.examples import generate, gravity_step, life_step, write_jsonl
from trm.data.grid.parse import GridExample
from trm.data.grid.task import GridTask
from trm.data.grid.vocab import Vocabulary
from trm.data.tasks import get_task
from trm.errors import OutputExistsError


def _write(tmp_path, examples, name="ex.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(e) + "\n" for e in examples))
    return path


def test_vocabulary_round_trips_symbols_tokens_and_text(rng):
    ints = Vocabulary.infer([[["10", "2"], ["0", "-1"]]])
    assert ints.symbols == ("-1", "0", "2", "10")  # numeric order when every symbol is an integer
    assert [ints.token(s) for s in ints.symbols] == [2, 3, 4, 5] and ints.vocab_size == 6
    assert ints.integers and not Vocabulary(("1", "--1")).integers
    chars = Vocabulary.infer([["b.", "a#"]])
    assert chars.symbols == ("#", ".", "a", "b")
    for vocab in (ints, chars, Vocabulary((" ", "#"))):
        assert Vocabulary.from_json(json.loads(json.dumps(vocab.to_json()))) == vocab
        grid = rng.integers(0, vocab.size, size=(4, 5)).astype(np.uint8)
        text = vocab.format(grid)
        assert np.array_equal(vocab.parse_text(text), grid)
        assert np.array_equal(vocab.indices(vocab.cells(grid)), grid)
    assert ints.format(np.array([[3, 0]])) == "10 -1"  # multi-character symbols: space-separated cells
    with pytest.raises(InputError, match="unknown symbol 'x' at row 2, column 1"):
        chars.parse_text("ab\nx.")
    with pytest.raises(ValueError, match="repeats a symbol"):
        Vocabulary(("a", "a"))
    with pytest.raises(ValueError, match="without spaces"):
        Vocabulary(("ab", "c d"))


def test_augmentation_is_the_same_map_on_input_and_output_and_inverts_exactly(rng):
    x = rng.integers(0, 5, size=(3, 4)).astype(np.uint8)
    y = rng.integers(0, 5, size=(2, 6)).astype(np.uint8)
    movable = np.array([1, 2, 3, 4])
    variants = augment.draw_variants(
        rng, x, y, augmentations=("dihedral", "symbols"), count=20, num_symbols=5, movable=movable
    )
    assert variants[0][0] == 0 and np.array_equal(variants[0][1], np.arange(5))
    assert len({(t, p.tobytes()) for t, p in variants}) == len(variants) == 21
    for t, perm in variants:
        assert perm[0] == 0 and sorted(perm.tolist()) == list(range(5))  # the fixed symbol 0 stays
        ax, ay = augment.apply(t, perm, x), augment.apply(t, perm, y)
        assert np.array_equal(ax, dihedral.apply(t, perm[x])) and np.array_equal(
            ay, dihedral.apply(t, perm[y])
        )
        assert np.array_equal(augment.invert(t, perm, ax), x) and np.array_equal(
            augment.invert(t, perm, ay), y
        )
    assert augment.parse_augment("symbols, dihedral") == ("dihedral", "symbols")
    assert augment.parse_augment("none") == ()
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment.parse_augment("rotate")


def test_split_is_seeded_and_keeps_explicit_splits():
    ex = [GridExample(str(i), [["0"]], [["0"]], None, "f") for i in range(50)]
    ex[3].split, ex[4].split = "test", "train"
    a, b = assign_splits(ex, 0.2, seed=1), assign_splits(ex, 0.2, seed=1)
    assert a == b and a != assign_splits(ex, 0.2, seed=2)
    assert a[3] == "test" and a[4] == "train"
    assert a.count("test") == 1 + round(0.2 * 48)


def test_example_generators_follow_their_rules_and_are_seeded():
    blinker = np.zeros((5, 5), dtype=bool)
    blinker[2, 1:4] = True
    assert np.array_equal(life_step(life_step(blinker)), blinker) and life_step(blinker)[1:4, 2].all()
    assert gravity_step(np.array([[1, 0], [0, 2], [3, 0]])).tolist() == [[0, 0], [1, 0], [3, 2]]
    assert generate("life", 5, seed=3) == generate("life", 5, seed=3) != generate("life", 5, seed=4)
    for ex in generate("life", 20, seed=0, size=6):
        board = np.array([[c == "#" for c in row] for row in ex["input"]])
        assert ["".join(".#"[int(v)] for v in row) for row in life_step(board)] == ex["output"] != ex["input"]
    for ex in generate("gravity", 20, seed=0):
        assert gravity_step(np.array(ex["input"])).tolist() == ex["output"] != ex["input"]


def test_build_stores_tokens_the_codec_decodes_back(tmp_path):
    src = write_jsonl(tmp_path / "g.jsonl", generate("gravity", 40, seed=0, max_size=5))
    result = build_grids(
        tmp_path / "ds", src, GridOptions(augment=("symbols",), fixed_symbols=("0",), num_aug=3)
    )
    train, test = open_split(tmp_path / "ds", "train"), open_split(tmp_path / "ds", "test")
    meta = test.metadata
    assert meta.task == "grid" and meta.grid_shape == (5, 5) and meta.vocab_size == 2 + 4
    assert train.num_groups == 36 and test.num_examples == 4 and train.num_examples > 36
    task = get_task("grid", meta)
    assert isinstance(task, GridTask) and task.symbols == ("0", "1", "2", "3")
    for (ex, x, y), e in zip(result.examples["test"], range(test.num_examples), strict=True):
        assert np.array_equal(task.decode(test.inputs[e], meta.grid_shape), x)
        assert np.array_equal(task.decode(test.labels[e], meta.grid_shape), y)
        assert task.to_json(y) == [[int(c) for c in row] for row in ex.output]  # integers in, integers out
        assert task.render_text(x) == "\n".join("".join(r) for r in ex.input)
    for g in range(train.num_groups):  # every variant of a group is the original under one colour map
        rows = train.puzzles_of_group(g)
        x0, y0 = (task.decode(a[rows[0]], meta.grid_shape) for a in (train.inputs, train.labels))
        for r in rows:
            x, y = (task.decode(a[r], meta.grid_shape) for a in (train.inputs, train.labels))
            assert x.shape == x0.shape and y.shape == y0.shape
            perm = np.zeros(4, dtype=np.int64)
            perm[x0.ravel()] = x.ravel()
            assert np.array_equal(perm[x0], x) and np.array_equal(perm[y0], y) and perm[0] == 0
    copy = task.metrics(np.asarray(test.inputs), np.asarray(test.labels), np.asarray(test.labels))
    assert not copy["copy_input_exact"].any()  # gravity always moves a block
    same = task.metrics(np.asarray(test.labels), None, np.asarray(test.labels))["copy_input_exact"]
    assert same.all()


def test_builds_are_byte_identical_for_a_seed_and_atomic(tmp_path):
    src = write_jsonl(tmp_path / "l.jsonl", generate("life", 30, seed=0, size=5))
    opts = GridOptions(augment=("dihedral",), num_aug=3, seed=5)
    build_grids(tmp_path / "a", src, opts)
    build_grids(tmp_path / "b", src, opts)
    for split in ("train", "test"):
        for name in ("inputs", "labels", "group_indices"):
            a, b = (np.load(tmp_path / d / split / f"{name}.npy") for d in ("a", "b"))
            assert np.array_equal(a, b)
    with pytest.raises(OutputExistsError, match="already holds a dataset"):
        build_grids(tmp_path / "a", src, GridOptions(seed=6))
    build_grids(tmp_path / "a", src, GridOptions(seed=6), force=True)  # an existing dataset is replaced
    assert open_split(tmp_path / "a", "train").metadata.build["seed"] == 6
    bad = _write(tmp_path, [{"input": "ab", "output": "ba"}, {"input": "ab", "output": "bz"}], "bad.jsonl")
    with pytest.raises(InputError, match=r"bad\.jsonl:2: output: unknown symbol 'z'"):
        build_grids(tmp_path / "a", bad, GridOptions(vocabulary=("a", "b")), force=True)
    assert open_split(tmp_path / "a", "train").metadata.build["seed"] == 6  # untouched by the failure
    with pytest.raises(InputError, match="need at least one training and one test example"):
        build_grids(tmp_path / "c", _write(tmp_path, [{"input": "a", "output": "b"}], "one.jsonl"))
    assert not (tmp_path / "c").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(OutputExistsError, match="not a dataset"):
        build_grids(tmp_path / "mine", src, force=True)  # not even with force
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_variable_sizes_get_an_eos_border_and_dihedral_makes_the_canvas_square(tmp_path):
    src = _write(
        tmp_path, [{"input": "aa\nab\nbb", "output": "a"}, {"input": "b", "output": "bab", "split": "test"}]
    )
    build_grids(tmp_path / "d", src, GridOptions(augment=("dihedral",), num_aug=7))
    train = open_split(tmp_path / "d", "train")
    assert train.metadata.grid_shape == (3, 3)
    x = np.array([[0, 0], [0, 1], [1, 1]])
    distinct = {dihedral.apply(t, x).tobytes() + bytes(dihedral.apply(t, x).shape) for t in range(8)}
    assert train.num_examples == len(distinct) == 8
    task = get_task("grid", train.metadata)
    first = train.labels[0].reshape(3, 3)
    assert first.tolist() == [[2, 1, 0], [1, 0, 0], [0, 0, 0]]  # 'a', EOS border, PAD (corner PAD too)
    assert task.decode(train.inputs[0], (3, 3)).shape == (3, 2)


def test_codec_reads_questions_as_text_or_json_and_refuses_what_does_not_fit(tmp_path):
    task = GridTask(Vocabulary((".", "#")))
    want = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    for text in (".#\n#.\n", '[".#", "#."]', '".#\\n#."', '{"input": [".#", "#."], "output": ["..", ".."]}'):
        assert np.array_equal(task.parse(text), want)
    assert task.to_json(want) == [".#", "#."]
    assert GridTask(Vocabulary(("0", "1"))).to_json(want) == [[0, 1], [1, 0]]
    tokens = task.encode(want, (3, 3))
    assert np.array_equal(task.decode(tokens, (3, 3)), want)
    assert task.decode(np.zeros(9, dtype=np.uint8), (3, 3)).shape == (0, 0)
    assert task.is_valid_answer(want, want) and not task.is_valid_answer(want, np.zeros((0, 0)))
    with pytest.raises(InputError, match="question is 2x2, this model's grids are at most 1x3"):
        task.encode(want, (1, 3))
    with pytest.raises(InputError, match="unknown symbol 'x'"):
        task.parse(".x")
    assert get_task("grid").symbols is None
    with pytest.raises(ValueError, match="needs the dataset's vocabulary"):
        get_task("grid").parse(".#")


def test_pictures_show_the_task_symbols(tmp_path):
    from types import SimpleNamespace

    from trm.viz.render import grid_text, refinement_png

    grid = np.array([[0, 1], [1, 1]], dtype=np.uint8)
    assert grid_text(grid, task="grid", symbols=(".", "#")).plain == ".#\n##"
    assert grid_text(grid, task="grid", symbols=("no", "yes")).plain == "no yes\nyes yes"
    step = SimpleNamespace(index=1, grid=grid, changed=grid == 1, q_halt=-1.0, valid=True)
    solution = SimpleNamespace(trace=[step], question=grid, task="grid", symbols=(".", "#"), halted_at=None)
    path = refinement_png(solution, tmp_path / "steps.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_val_split_is_drawn_after_test_and_explicit_val_examples_count():
    ex = [GridExample(str(i), [["0"]], [["0"]], None, "f") for i in range(50)]
    ex[7].split = "val"
    plain, with_val = assign_splits(ex, 0.2, seed=1), assign_splits(ex, 0.2, seed=1, val_count=5)
    assert [i for i, s in enumerate(plain) if s == "test"] == [
        i for i, s in enumerate(with_val) if s == "test"
    ]
    assert with_val.count("val") == 6 and with_val[7] == "val" and plain[7] == "val"
    with pytest.raises(InputError, match="val_count=40, but only 39 examples"):
        assign_splits(ex, 0.2, seed=1, val_count=40)


def test_build_writes_a_val_split_that_is_never_augmented(tmp_path):
    src = write_jsonl(tmp_path / "g.jsonl", generate("gravity", 40, seed=0, max_size=4))
    result = build_grids(tmp_path / "d", src, GridOptions(augment=("symbols",), num_aug=2, val_count=5))
    val = open_split(tmp_path / "d", "val")
    assert val.num_examples == val.num_groups == 5 and set(result.metadata) == {"train", "test", "val"}
    assert result.metadata["train"].num_groups == 40 - 4 - 5  # 4 = round(0.1 * 40) to test
    assert result.metadata["val"].build["val_inputs_also_in_train"] >= 0
    no_val = build_grids(tmp_path / "e", src, GridOptions(augment=("symbols",), num_aug=2))
    assert "val" not in no_val.metadata and not (tmp_path / "e" / "val").exists()
