"""A task registered from outside the package gets every front end with no other edit: train, eval, solve,
serve, pictures and the LLM harness (tiny configs; the task is a module written into the test's tmp dir)."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from llm_stub import Reply, StubServer
from trm.data.format import DatasetMetadata, open_split, write_split
from trm.data.tasks import TaskBase, find_task, get_task, register_task

# "flip": 3x3 grids of 0/1 and the answer flips every cell. Tokens: PAD 0, value v -> v + 1.
FLIP_MODULE = """
import numpy as np

from trm.data.tasks import TaskBase


class FlipTask(TaskBase):
    name = "flip"

    def parse(self, text):
        rows = [line.strip() for line in text.strip().splitlines() if line.strip()]
        return np.array([[int(ch) for ch in row] for row in rows])

    def encode(self, grid, grid_shape):
        return np.asarray(grid).reshape(-1).astype(np.int64) + 1

    def decode(self, tokens, grid_shape):
        return np.clip(np.asarray(tokens).reshape(grid_shape) - 1, 0, 1)

    def render_text(self, grid):
        return "\\n".join("".join(str(int(v)) for v in row) for row in np.asarray(grid))

    def is_valid_answer(self, question, answer):
        return bool(np.array_equal(np.asarray(answer), 1 - np.asarray(question)))

    def metrics(self, inputs, preds, labels):
        return {"flipped": (np.asarray(preds) == 3 - np.asarray(inputs)).all(axis=1)}


class CodecOnly:
    # not a TaskBase: lacks every optional capability
    name = "codec-only"

    def parse(self, text):
        return np.zeros((1, 1))
"""


@pytest.fixture(scope="module")
def flip(tmp_path_factory):
    """The task's module on sys.path, registered as ``flip``; a dataset of it; a model trained on it."""
    from test_training_loop import tiny_config
    from trm.training.loop import train

    root = tmp_path_factory.mktemp("flip")
    (root / "flip_task_plugin.py").write_text(textwrap.dedent(FLIP_MODULE))
    sys.path.insert(0, str(root))
    register_task("flip", "flip_task_plugin:FlipTask")
    rng = np.random.default_rng(0)
    meta = DatasetMetadata(task="flip", vocab_size=3, seq_len=9, grid_shape=(3, 3), num_puzzle_identifiers=1)
    for name, n in (("train", 64), ("test", 8)):
        x = rng.integers(0, 2, size=(n, 9))
        write_split(
            root / "data",
            name,
            inputs=x + 1,
            labels=(1 - x) + 1,
            puzzle_identifiers=np.zeros(n, dtype=np.int64),
            puzzle_indices=np.arange(n + 1),
            group_indices=np.arange(n + 1),
            metadata=meta,
        )
    cfg = tiny_config(str(root / "data"), root / "run", max_steps=4, eval_interval=1)
    result = train(cfg, progress=False)
    yield root, result
    sys.path.remove(str(root))


def test_registered_task_is_a_task_with_generic_defaults(flip):
    task = get_task("flip")
    assert isinstance(task, TaskBase) and task.name == "flip" and find_task("no-such-task") is None
    assert task.symbols is None and task.evaluator("data", "test") is None
    assert task.example((3, 3), 0) is None
    with pytest.raises(ValueError, match="not defined for task 'flip'"):
        task.symmetries(np.random.default_rng(0), 2, (3, 3), 3)


def test_a_task_without_the_optional_capabilities_is_named_in_the_error(flip):
    register_task("codec-only", "flip_task_plugin:CodecOnly")
    with pytest.raises(
        TypeError, match=r"'codec-only' \(flip_task_plugin:CodecOnly\) lacks .*style.*TaskBase"
    ):
        get_task("codec-only")
    with pytest.raises(ValueError, match="registered as 'module:Class'"):
        register_task("bad", "flip_task_plugin.FlipTask")


def test_train_and_eval_report_the_tasks_metric(flip):
    from trm.evaluation.evaluate import evaluate
    from trm.inference.solver import Solver

    root, result = flip
    assert result.step == 4 and "flipped" in result.metrics  # the trainer's evaluation has the task metric
    solver = Solver.load(str(root / "run"), "cpu")
    ev = evaluate(solver.model, open_split(root / "data", "test"), batch_size=8, device="cpu")
    assert set(ev.metrics) >= {"exact_accuracy", "token_accuracy", "flipped"}
    assert 0.0 <= ev.metrics["flipped"] <= 1.0


def test_solve_and_pictures(flip, tmp_path):
    from rich.console import Console

    from trm.inference.solver import Solver
    from trm.viz.render import grid_text, refinement_gif, refinement_png, render_png, trace_text

    root, _ = flip
    solver = Solver.load(str(root / "run"), "cpu")
    solution = solver.solve("010\n101\n010")
    assert solution.task == "flip" and len(solution.trace) == solver.model.config.halt_max_steps
    assert solution.valid == bool(np.array_equal(solution.answer, 1 - solution.question))
    assert grid_text(solution.question, task=solution.task).plain == "010\n101\n010"
    console = Console(record=True, width=80)
    console.print(trace_text(solution))
    assert "step 1" in console.export_text()
    for path in (
        refinement_png(solution, tmp_path / "steps.png"),
        refinement_gif(solution, tmp_path / "steps.gif"),
        render_png(solution.answer, tmp_path / "answer.png", task=solution.task, question=solution.question),
    ):
        with Image.open(path) as im:
            assert im.size[0] > 50 and im.size[1] > 50


def test_serve(flip):
    from fastapi.testclient import TestClient

    from trm.serve.app import create_app
    from trm.serve.registry import load_models

    root, _ = flip
    with TestClient(create_app(load_models([str(root / "run")], "cpu"))) as client:
        (model,) = client.get("/api/models").json()
        assert model["task"] == "flip"
        body = client.post("/api/solve", json={"model": model["name"], "puzzle": "010\n101\n010"}).json()
        assert body["task"] == "flip" and body["question"] == [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
        example = client.get("/api/example", params={"model": model["name"]}).json()  # from its dataset
        assert np.asarray(example["grid"]).shape == (3, 3) and "data/test" in example["source"]


def test_llm_harness(flip, tmp_path):
    from trm.inference.solver import Solver
    from trm.llm.clients import ToolCall
    from trm.llm.formats import grid_format
    from trm.llm.run import EvalSettings, evaluate_llm
    from trm.llm.tool import SolvePuzzleTool

    root, _ = flip
    fmt = grid_format("flip", (3, 3))  # the generic text form: one character a value

    def respond(api: str, body: dict) -> Reply:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        question = fmt.read(user)
        return Reply(content=f"Flipped:\n```\n{fmt.write(1 - question)}\n```")

    with StubServer(respond) as stub:
        settings = EvalSettings(
            data=str(root / "data"), model="stub", out=str(tmp_path / "r.json"), host=stub.url
        )
        report = evaluate_llm(settings)
    assert report["task"] == "flip" and report["metrics"]["num_examples"] == 8
    assert report["metrics"]["exact_accuracy"] == 1.0 and report["metrics"]["flipped"] == 1.0
    tool = SolvePuzzleTool(Solver.load(str(root / "run"), "cpu"), fmt)
    question = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    result = tool(ToolCall(name="solve_puzzle", arguments={"puzzle": fmt.write(question)}), question)
    assert result.ok and result.input_matches and fmt.read(result.answer).shape == (3, 3)


def test_installed_packages_declare_tasks_as_entry_points(flip, monkeypatch):
    """``trm`` finds a task an installed package declares in the ``trm.tasks`` entry-point group."""
    from importlib.metadata import EntryPoint

    from trm.data import tasks

    declared = [EntryPoint("flip2", "flip_task_plugin:FlipTask", tasks.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(
        tasks, "entry_points", lambda group: declared if group == tasks.ENTRY_POINT_GROUP else []
    )
    tasks._installed.cache_clear()  # entry points are read once a process
    try:
        assert "flip2" in tasks.known_tasks() and get_task("flip2").name == "flip"
        assert find_task("flip3") is None
        with pytest.raises(KeyError, match="unknown task 'flip3'; known: .*flip2"):
            get_task("flip3")
    finally:
        tasks._installed.cache_clear()
