"""``trm train --data D``: the recipe chosen from the dataset's metadata, the reason printed, the errors."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from trm.cli import app
from trm.config import recipe_names
from trm.data.format import DatasetMetadata
from trm.errors import ConfigError, InputError
from trm.recipes.choose import RULES, choose, pick_rule, read_dataset


def _meta(task: str, side: int, *, examples: int = 5000, vocab: int = 6) -> DatasetMetadata:
    return DatasetMetadata(
        task=task,
        vocab_size=vocab,
        seq_len=side * side,
        grid_shape=(side, side),
        num_puzzle_identifiers=1,
        num_groups=examples,
    )


@pytest.mark.parametrize(
    ("task", "side", "recipe"),
    [
        ("sudoku", 4, "quickstart"),
        ("sudoku", 6, "quickstart"),
        ("sudoku", 9, "sudoku9_cpu"),
        ("sudoku", 16, "grid_small"),  # no Sudoku row this large: the grid rows decide
        ("maze", 9, "maze_cpu"),
        ("maze", 11, "maze11_cpu"),
        ("maze", 15, "maze11_cpu"),
        ("grid", 6, "grid_tiny"),
        ("grid", 7, "grid8_cpu"),
        ("grid", 8, "grid8_cpu"),
        ("life", 8, "grid8_cpu"),  # a user's own task name is a grid task
        ("grid", 9, "grid_small"),
        ("grid", 30, "grid_small"),
    ],
)
def test_each_rule_picks_its_recipe_and_says_what_it_rests_on(task, side, recipe):
    choice = choose(_meta(task, side), "data/x", device="cpu")
    assert choice.recipe == recipe == pick_rule(task, side, side).recipe
    assert len(choice.reason) == 2 and choice.reason[0].startswith(f"recipe {recipe}: data/x holds")
    assert f"{side}x{side} grids" in choice.reason[0] and choice.rule.evidence in choice.reason[0]
    assert choice.overrides["data.path"] == "data/x" and choice.overrides["out_dir"] == "runs/x"


def test_every_rule_names_a_bundled_recipe():
    names = set(recipe_names())
    assert {r.recipe for r in RULES} | {r.gpu_recipe for r in RULES if r.gpu_recipe} <= names


@pytest.mark.parametrize(("task", "side", "paper"), [("maze", 30, "maze_1gpu"), ("maze", 20, "maze_1gpu"),
                                                       ("arc", 30, "arc1")])  # fmt: skip
def test_the_papers_sizes_need_a_gpu_and_the_error_names_the_recipe(task, side, paper):
    with pytest.raises(ConfigError) as e:
        choose(_meta(task, side), "data/big", device="cpu")
    text = str(e.value)
    assert f"its recipe is {paper}" in text and "needs a CUDA GPU (this device: cpu)" in text
    assert f"--recipe {paper} --data data/big" in text and "\n" not in text
    assert choose(_meta(task, side), "data/big", device="cuda").recipe == paper


def test_on_a_gpu_the_choice_stays_and_the_larger_recipe_is_named():
    on_cpu, on_gpu = (choose(_meta("sudoku", 9), "d", device=d) for d in ("cpu", "cuda"))
    assert on_cpu.recipe == on_gpu.recipe == "sudoku9_cpu"
    assert "--recipe sudoku_mlp" in on_gpu.reason[1] and "sudoku_mlp" not in on_cpu.reason[1]


def test_the_reason_says_where_data_or_budget_lie_outside_the_measurement():
    small = choose(_meta("grid", 6, examples=300, vocab=12), "d", minutes=2, has_val=True)
    words = small.reason[1]
    assert "budget: 2 min (--minutes)" in words and "less than the 5 min of that figure" in words
    assert "measured with 1,800 training examples, this set has 300" in words
    assert "measured on 2-4 symbols, this set has 10" in words
    assert "the 99% target stop reads the val split" in words and small.overrides["data.eval_split"] == "val"
    usual = choose(_meta("grid", 6, examples=1800, vocab=6), "d")
    assert usual.reason[1] == "budget: a plan of 2,400 steps, at most 6 min"
    assert "data.eval_split" not in usual.overrides  # no val split: the recipe's own eval split
    assert choose(_meta("sudoku", 9), "d").reason[1].startswith("budget: 30 min")


def test_a_missing_or_invalid_dataset_is_an_error_naming_the_path(tmp_path):
    with pytest.raises(InputError, match=f"{tmp_path / 'none'}: no dataset folder here"):
        read_dataset(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=f"{tmp_path / 'empty' / 'train'}: not a dataset split"):
        read_dataset(tmp_path / "empty")
    (tmp_path / "bad" / "train").mkdir(parents=True)
    (tmp_path / "bad" / "train" / "metadata.json").write_text('{"task": "grid"}')
    with pytest.raises(InputError, match=r"metadata.json: missing metadata keys"):
        read_dataset(tmp_path / "bad")


def test_train_cli_chooses_prints_and_trains_with_overrides_on_top(tmp_path):
    runner = CliRunner()
    data = tmp_path / "rule"
    args = ["data", "example", "permute_map", "--out", str(data), "--size", "4", "--symbols", "3"]
    res = runner.invoke(app, [*args, "--train-count", "30", "--test-count", "4", "--val-count", "4"])
    assert res.exit_code == 0, res.output
    assert read_dataset(data)[1]  # the val split is there
    run = tmp_path / "run"
    tiny = ["model.hidden_size=16", "model.halt_max_steps=2", "eval.batch_size=8", "train.device=cpu"]
    res = runner.invoke(app, ["train", "--data", str(data), "--minutes", "0.02", "--no-progress",
                              f"out_dir={run}", *tiny])  # fmt: skip
    assert res.exit_code == 0, res.output
    first = res.output.splitlines()[0]
    assert first.startswith(f"recipe grid_tiny: {data} holds 'grid' data on 4x4 grids, 30 training examples")
    assert "budget: 0.02 min (--minutes)" in res.output and "stopped (max_minutes)" in res.output
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["name"] == "grid_tiny" and saved["data"]["path"] == str(data)
    assert saved["data"]["eval_split"] == "val" and saved["model"]["hidden_size"] == 16
    assert saved["train"]["max_minutes"] == 0.02 and saved["train"]["max_steps"] is None  # spans the minutes


def test_train_cli_errors_are_one_line(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["train"])
    assert res.exit_code == 2 and "give --recipe NAME, or --data DATASET" in res.output
    res = runner.invoke(app, ["train", "--data", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and f"{tmp_path / 'nowhere'}: no dataset folder here" in res.output
