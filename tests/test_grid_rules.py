"""``trm data example RULE --out``: each rule is one function, the dataset loads back, bad names fail."""

from __future__ import annotations

import numpy as np
import pytest

from trm.cli import main
from trm.cli.data_grids import default_train_count
from trm.data.format import open_split
from trm.data.grid.examples import gravity_step, life_step
from trm.data.grid.rules import RULES, examples, make_rule
from trm.errors import InputError


@pytest.mark.parametrize("name", RULES)
def test_each_rule_is_deterministic_and_never_the_identity(name):
    a, b = make_rule(name, size=4, seed=5), make_rule(name, size=4, seed=5)
    ex_a, ex_b = examples(a, 20, 5, seed=1), examples(b, 20, 5, seed=1)
    assert ex_a == ex_b
    assert [e["split"] for e in ex_a].count("test") == 5
    assert len({str(e["input"]) for e in ex_a}) == 25
    for e in ex_a:
        x, y = np.array(e["input"]), np.array(e["output"])
        assert not np.array_equal(x, y)
        assert np.array_equal(a.apply(x), y)  # one function of the question, whatever the example


def test_rules_do_what_their_names_say():
    board = np.arange(16).reshape(4, 4) % 3
    perm = make_rule("permutation", size=4, symbols=3, seed=0).apply(board)
    assert sorted(perm.ravel()) == sorted(board.ravel())  # cells moved, none changed
    sym = make_rule("symbol_map", size=4, symbols=3, seed=0).apply(board)
    assert (
        np.all(sym != board)
        and len({(int(s), int(t)) for s, t in zip(board.ravel(), sym.ravel(), strict=True)}) == 3
    )
    both = make_rule("permute_map", size=4, symbols=3, seed=0).apply(np.zeros((4, 4), int))
    assert len(set(both.ravel().tolist())) == 1 and both[0, 0] != 0  # a constant board stays constant, mapped
    assert np.array_equal(make_rule("gravity", size=4).apply(board), gravity_step(board))
    life = (board == 1).astype(int)
    assert np.array_equal(make_rule("life", size=4).apply(life), life_step(life))
    walls = np.array([[2, 0, 1, 0], [0, 0, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]])
    filled = make_rule("flood_fill", size=4).apply(walls)
    assert np.array_equal(filled[:2, :2], np.full((2, 2), 2)) and np.all(filled[:, 3] == 0)


def test_a_seed_is_a_rule():
    one, two = make_rule("permutation", size=5, seed=0), make_rule("permutation", size=5, seed=1)
    board = np.arange(25).reshape(5, 5)
    assert not np.array_equal(one.apply(board), two.apply(board))


def test_bad_rules_name_the_rules():
    with pytest.raises(InputError, match="unknown rule 'spin'; the rules: permutation, symbol_map"):
        make_rule("spin")
    with pytest.raises(InputError, match="exactly 2 symbols"):
        make_rule("life", symbols=4)


def _run(capsys, args):
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    return (code, *capsys.readouterr())


def test_cli_dataset_round_trips_through_the_loader(capsys, tmp_path):
    args = ["data", "example", "permute_map", "--out", str(tmp_path / "d"), "--size", "4", "--symbols", "3"]
    code, out, _ = _run(capsys, [*args, "--train-count", "30", "--test-count", "6", "--seed", "2"])
    assert code == 0 and "grid_tiny data.path=" in out
    rule = make_rule("permute_map", size=4, symbols=3, seed=2)
    train, test = open_split(tmp_path / "d", "train"), open_split(tmp_path / "d", "test")
    assert len(np.asarray(train.inputs)) == 30 and len(np.asarray(test.inputs)) == 6
    vocab = [int(s) for s in test.metadata.build["vocabulary"]["symbols"]]
    for x, y in zip(
        np.asarray(test.inputs), np.asarray(test.labels), strict=True
    ):  # tokens: symbol i -> i + 2
        board = np.array([vocab[t - 2] for t in x[:16]]).reshape(4, 4)
        assert [vocab[t - 2] for t in y[:16]] == rule.apply(board).ravel().tolist()
    code, _, err = _run(capsys, ["data", "example", "spin", "--out", str(tmp_path / "e")])
    assert code == 2 and "unknown rule 'spin'; the rules: permutation" in err
    code, _, err = _run(capsys, args)  # the folder holds a dataset: --force replaces it
    assert code == 2 and "--force" in err


def test_training_examples_default_by_board_side(capsys, tmp_path):
    assert [default_train_count(side) for side in (4, 6, 7, 8)] == [1800, 1800, 7200, 7200]
    args = ["data", "example", "life", "--out", str(tmp_path / "d"), "--size", "4", "--test-count", "5"]
    code, out, _ = _run(capsys, args)
    assert code == 0 and "1800 training examples" in out and "--recipe grid_tiny " in out
    assert open_split(tmp_path / "d", "train").metadata.build["num_original_examples"] == 1800


def test_val_examples_come_last_so_train_and_test_do_not_change():
    rule = make_rule("gravity", size=4, seed=1)
    plain, with_val = examples(rule, 20, 5, seed=1), examples(rule, 20, 5, seed=1, val=4)
    assert with_val[:25] == plain and [e["split"] for e in with_val[25:]] == ["val"] * 4
