"""Fuzzing the ARC readers and the submission reader: any JSON, text or bytes gives tasks (scores) or an
InputError, never another exception; every task and submission our writers produce reads back equal."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz_common import FUZZ, input_errors_only, json_values, mutate
from trm.data.arc.score import load_solutions, parse_submission, score_submission
from trm.data.arc.task import ArcTask
from trm.data.arc.tasks_io import load_kaggle, load_task_file, parse_task
from trm.data.arc.voting import write_submission

grids = st.integers(1, 5).flatmap(
    lambda h: st.integers(1, 5).flatmap(
        lambda w: st.lists(st.lists(st.integers(0, 9), min_size=w, max_size=w), min_size=h, max_size=h)
    )
)
# Grid-like values that are often almost right: ragged rows, bools, big or negative ints, floats, nesting.
cells = st.integers(-2, 12) | st.integers() | st.booleans() | st.floats() | st.none() | st.text(max_size=2)
grid_likes = grids | st.lists(st.lists(cells, max_size=4), max_size=4) | json_values
pairs = st.fixed_dictionaries({"input": grids, "output": grids})
tasks = st.fixed_dictionaries(
    {"train": st.lists(pairs, min_size=1, max_size=3), "test": st.lists(pairs, min_size=1, max_size=2)}
)
bad_pairs = st.dictionaries(st.sampled_from(["input", "output", "x"]), grid_likes, max_size=3)
task_likes = (
    tasks
    | st.dictionaries(st.sampled_from(["train", "test"]), st.lists(bad_pairs, max_size=3) | json_values)
    | json_values
)
keys = st.sampled_from(["attempt_1", "attempt_2", "attempt_x", "attempt_", "attempt_03", "other"])
attempts = st.dictionaries(keys, grid_likes, max_size=3)
submission_likes = (
    st.dictionaries(
        st.text(max_size=4), st.lists(attempts | json_values, max_size=3) | json_values, max_size=3
    )
    | json_values
)
task_ids = st.text("abcdef0123456789", min_size=1, max_size=8)


def _same_task(got, obj) -> bool:
    want_in = [np.array(p["input"]) for p in obj["train"]] + [np.array(p["input"]) for p in obj["test"]]
    want_out = [np.array(p["output"]) for p in obj["train"]] + [np.array(p["output"]) for p in obj["test"]]
    got_in = [*got.train_inputs, *got.test_inputs]
    got_out = [*got.train_outputs, *(got.test_outputs or [])]
    return all(np.array_equal(a, b) for a, b in zip(got_in + got_out, want_in + want_out, strict=True))


@FUZZ
@given(task_likes)
@example({"train": [{"input": [[2**70]], "output": [[1]]}], "test": [{"input": [[1]]}]})
def test_any_json_task_parses_or_is_an_input_error(obj):
    input_errors_only(parse_task, obj, "fuzz", file="fuzz.json")


@FUZZ
@given(st.binary(max_size=300) | st.builds(json.dumps, task_likes).map(str.encode))
def test_any_task_file_reads_or_is_an_input_error(tmp_path, raw):
    path = tmp_path / "task.json"
    path.write_bytes(raw)
    input_errors_only(load_task_file, path)
    input_errors_only(load_kaggle, path)


@FUZZ
@given(tasks)
def test_every_written_task_reads_back(tmp_path, obj):
    path = tmp_path / "task.json"
    path.write_text(json.dumps(obj))
    assert _same_task(load_task_file(path), obj)


@FUZZ
@given(st.text(max_size=200) | st.builds(json.dumps, grid_likes | task_likes))
@example("01\n2\u00b2")  # a superscript two: str.isdigit() says yes, int() says no
def test_any_question_text_parses_or_is_an_input_error(text):
    grid = input_errors_only(ArcTask().parse, text)
    if grid is not None:
        assert grid.ndim == 2 and grid.size and grid.max() <= 9


@FUZZ
@given(grids, st.booleans(), st.data())
def test_damaged_question_text_parses_or_is_an_input_error(grid, as_json, data):
    text = json.dumps(grid) if as_json else "\n".join("".join(map(str, row)) for row in grid)
    input_errors_only(ArcTask().parse, mutate(text, data, "0123456789[],{} \n"))


@FUZZ
@given(grids)
def test_every_written_question_reads_back(grid):
    rows = "\n".join("".join(map(str, row)) for row in grid)
    for text in (json.dumps(grid), rows, json.dumps({"train": [], "test": [{"input": grid}]})):
        assert np.array_equal(ArcTask().parse(text), np.array(grid))


@FUZZ
@given(submission_likes)
@example({"t": [{"attempt_x": [[1]]}]})  # an attempt key that is not attempt_<number>
@example({"t": [{"attempt_1": [[2**70]]}]})  # a colour too big for any integer type
def test_any_submission_parses_or_is_an_input_error(obj):
    input_errors_only(parse_submission, obj, file="submission.json")


@FUZZ
@given(st.binary(max_size=300) | st.builds(json.dumps, submission_likes).map(str.encode), st.booleans())
def test_any_submission_or_solutions_file_scores_or_is_an_input_error(tmp_path, raw, as_solutions):
    path = tmp_path / "file.json"
    path.write_bytes(raw)
    truth = {"a": [np.zeros((1, 1), np.uint8)]}
    if as_solutions:
        input_errors_only(load_solutions, path=path)
    else:
        input_errors_only(score_submission, path, truth)


@FUZZ
@given(st.dictionaries(task_ids, st.lists(grids, min_size=1, max_size=2), min_size=1, max_size=3))
def test_written_submission_of_the_truth_scores_full_marks(tmp_path, solutions):
    truth = {k: [np.array(g, dtype=np.uint8) for g in v] for k, v in solutions.items()}
    submission = {k: [{"attempt_1": g, "attempt_2": [[0]]} for g in v] for k, v in solutions.items()}
    write_submission(tmp_path / "submission.json", submission)
    result = score_submission(tmp_path / "submission.json", truth)
    parsed = parse_submission(json.loads((tmp_path / "submission.json").read_text()))
    assert all(np.array_equal(parsed[k][i][0], g) for k, v in truth.items() for i, g in enumerate(v))
    assert all(r == [0] * len(truth[k]) for k, r in result["ranks"].items())  # attempt_1 (rank 0) is right
