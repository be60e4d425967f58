import pytest

from trm.config import ConfigError, load_recipe, recipe_names


def test_every_recipe_loads():
    for name in recipe_names():
        cfg = load_recipe(name)
        assert cfg.name == name


def test_base_recipe_inherits_and_overrides():
    att = load_recipe("sudoku_att")
    mlp = load_recipe("sudoku_mlp")
    assert att.model.mixer == "attention" and mlp.model.mixer == "mlp_t"
    assert att.train == mlp.train


def test_overrides_are_typed():
    cfg = load_recipe("sudoku_mlp", ["train.lr=3e-4", "train.ema=false", "data.path=/x", "train.max_steps=7"])
    assert cfg.train.lr == pytest.approx(3e-4) and cfg.train.ema is False
    assert cfg.data.path == "/x" and cfg.train.max_steps == 7


def test_unknown_key_is_an_error_naming_it():
    with pytest.raises(ConfigError, match="train.epoch"):
        load_recipe("sudoku_mlp", ["train.epoch=3"])
    with pytest.raises(ConfigError, match="model.mixer"):
        load_recipe("sudoku_mlp", ["model.mixer=conv"])


def test_bad_yaml_names_line(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("model:\n  hidden_size: 64\n  mixer: [unclosed\n")
    with pytest.raises(ConfigError, match=r"r.yaml:\d+:\d+"):
        load_recipe(p)


def test_unknown_recipe_lists_known():
    with pytest.raises(ConfigError, match="sudoku_mlp"):
        load_recipe("nope")
