"""``trm quickstart --task``: the four steps for each task on tiny counts, and the task table's checks.

(The default task, 6x6 Sudoku, runs end to end in tests/test_readme.py.)"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from trm.cli import app
from trm.cli.quickstart_tasks import TASKS, Counts, parse_task
from trm.data.format import open_split
from trm.data.grid.examples import generate, write_jsonl
from trm.errors import InputError

TINY = ["train.max_steps=4", "model.hidden_size=16", "model.halt_max_steps=2", "eval.batch_size=8"]


@pytest.mark.parametrize(
    ("task", "counts", "recipe", "shape"),
    [
        ("sudoku9", ["--train-puzzles", "12", "--num-aug", "1"], "sudoku9_cpu", (9, 9)),
        ("maze", ["--train-puzzles", "12"], "maze_cpu", (9, 9)),
        ("grid:{file}", ["--val-puzzles", "4"], "grid_tiny", (4, 4)),
    ],
)
def test_each_task_runs_the_four_steps_and_writes_its_summary(tmp_path, task, counts, recipe, shape):
    file = write_jsonl(tmp_path / "g.jsonl", generate("gravity", 40, seed=0, max_size=4))
    out = tmp_path / "qs"
    args = [
        "quickstart",
        "--task",
        task.format(file=file),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--threads",
        "1",
    ]
    args += counts
    if not task.startswith("grid"):
        args += ["--test-puzzles", "4", "--val-puzzles", "4"]
    res = CliRunner().invoke(app, [*args, *TINY])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    for step in ("1/4 data", "2/4 train", "3/4 evaluate", "4/4 solve"):
        assert step in text
    assert f"recipe {recipe}:" in text
    summary = json.loads((out / "quickstart.json").read_text())
    assert summary["task"] == task.partition(":")[0] and summary["recipe"] == recipe
    assert summary["train_steps"] >= 4 and 0.0 <= summary["exact_accuracy"] <= 1.0
    assert set(summary["exact_accuracy_per_step"]) == {"1", "2"}
    for split in ("train", "test", "val"):
        assert tuple(open_split(out / "data", split).metadata.grid_shape) == shape
    assert open_split(out / "data", "val").num_examples == 4
    saved = (out / "config.yaml").read_text()
    assert "eval_split: val" in saved and f"target_accuracy: {TASKS[summary['task']].target}" in saved
    if task == "maze":
        assert 0.0 <= summary["valid_shortest_path"] <= 1.0
    for picture in ("refinement.png", "refinement.gif", "training_curves.png"):
        assert (out / "pictures" / picture).stat().st_size > 0


def test_the_task_table_checks_its_input(tmp_path):
    assert parse_task("sudoku6") == (TASKS["sudoku6"], None)
    with pytest.raises(
        InputError, match="unknown --task 'chess'; the tasks: sudoku6, sudoku9, maze, grid:FILE"
    ):
        parse_task("chess")
    with pytest.raises(InputError, match="--task grid needs a file of examples"):
        parse_task("grid")
    with pytest.raises(InputError, match=f"{tmp_path / 'none.jsonl'}: no such file"):
        parse_task(f"grid:{tmp_path / 'none.jsonl'}")
    with pytest.raises(InputError, match="--min-blanks does not apply to --task maze"):
        TASKS["maze"].counts(Counts(min_blanks=3))
    with pytest.raises(InputError, match="--train-puzzles does not apply to --task grid"):
        TASKS["grid"].counts(Counts(train=3))
    assert TASKS["sudoku9"].counts(Counts(train=7, seed=2)) == Counts(7, 500, 300, 16, None, 2)
    res = CliRunner().invoke(app, ["quickstart", "--task", "maze", "--num-aug", "2"])
    assert res.exit_code == 2 and "--num-aug does not apply to --task maze" in res.output


def test_help_states_each_tasks_budget():
    res = CliRunner().invoke(app, ["quickstart", "--help"], terminal_width=100)
    text = " ".join(res.output.split())
    for t in TASKS.values():
        assert " ".join(t.budget.split()) in text
    assert "sudoku6 ~4 min on 2 idle cores" in text and "maze 12 min" in text
