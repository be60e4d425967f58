"""The commands on reference checkpoints of each kind: ``trm convert``, ``trm eval``, ``trm solve``, from a
folder and from ``hf://`` (served by a local stand-in for the hub), and ``trm models``."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import shared_data_dir
from hub_standin import FakeHub
from trm.checkpoints import load_any, load_official
from trm.data.format import DatasetMetadata, write_split
from trm.data.sudoku import generate, to_tokens

REFERENCE = shared_data_dir() / "reference_checkpoints"
KINDS = ["trm_mlpt", "trm_att", "hrm"]
runner = CliRunner()
pytestmark = pytest.mark.skipif(not REFERENCE.is_dir(), reason="reference checkpoints not available")


def _app():
    from trm.cli import app

    return app


@pytest.fixture(scope="module")
def sudoku():
    """Three real 9x9 puzzles as a dataset, and the first one as text."""
    return generate(9, count=3, seed=2)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, sudoku):
    root = tmp_path_factory.mktemp("sudoku9")
    meta = DatasetMetadata(
        task="sudoku", vocab_size=11, seq_len=81, grid_shape=(9, 9), num_puzzle_identifiers=1
    )
    inputs = np.stack([to_tokens(p.puzzle) for p in sudoku])
    labels = np.stack([to_tokens(p.solution) for p in sudoku])
    write_split(root, "test", inputs=inputs, labels=labels, puzzle_identifiers=np.zeros(3, np.int32),
                puzzle_indices=np.arange(4), group_indices=np.arange(4), metadata=meta)  # fmt: skip
    return root


def _text(grid) -> str:
    return "".join(str(v) if v else "." for v in np.asarray(grid).ravel())


@pytest.fixture
def hub(tmp_path, monkeypatch):
    return FakeHub(tmp_path / "hub").install(monkeypatch)


@pytest.mark.parametrize("kind", KINDS)
def test_convert_eval_and_solve_a_reference_checkpoint(kind, tmp_path, dataset, sudoku, hub):
    app, folder = _app(), REFERENCE / kind
    result = runner.invoke(app, ["convert", str(folder), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "task sudoku: grid 9x9, seq_len 81, vocab 11, 3 puzzle identifiers" in result.output
    converted, _, _ = load_any(tmp_path / "run", device="cpu")
    direct, _, _ = load_official(folder)
    for (name, p), q in zip(converted.state_dict().items(), direct.state_dict().values(), strict=True):
        assert torch.equal(p, q), name

    shutil.copytree(folder, hub.repo(f"someone/{kind}"))
    report = tmp_path / "report.json"
    for spec in (str(folder), f"hf://someone/{kind}"):  # the converted run holds the same weights (above)
        result = runner.invoke(
            app, ["eval", "--checkpoint", spec, "--data", str(dataset), "--no-progress", "--steps", "2",
                  "--batch-size", "4", "--out", str(report)]
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        metrics = json.loads(report.read_text())["metrics"]
        assert 0.0 <= metrics["exact_accuracy"] <= 1.0 and "exact_accuracy_step_2" in metrics
        result = runner.invoke(app, ["solve", "--checkpoint", spec, "--steps", "2", _text(sudoku[0].puzzle)])
        assert result.exit_code == 0, result.output
        assert "after 2 steps" in result.output


def test_models_lists_the_known_repositories_with_the_commands_that_evaluate_them():
    result = runner.invoke(_app(), ["models"])
    assert result.exit_code == 0, result.output
    for spec in ("hf://Sanjin2024/TinyRecursiveModels-Sudoku-Extreme-mlp",
                 "hf://arcprize/trm_arc_prize_verification/arc_v2_public",
                 "hf://MaximeILL/GAR_ckpts/TRM-MLP-Sudoku-Extreme.pt", "hf://Trelis/TRM-ARC-AGI-II",
                 "hf://sapientinc/HRM-checkpoint-ARC-2"):  # fmt: skip
        assert spec in result.output
    assert "84.8% exact" in result.output and "85.9% exact" in result.output
    maze = runner.invoke(_app(), ["models", "--task", "maze"]).output
    assert "Maze-Hard" in maze and "Sudoku-Extreme" not in maze


def test_every_catalog_command_is_one_the_cli_accepts():
    """The eval and data commands parse (every option exists, values have the right types)."""
    import shlex

    import typer

    from trm.checkpoints.catalog import KNOWN

    root = typer.main.get_command(_app())
    loadable = [k for k in KNOWN if k.loads]
    assert loadable and len(loadable) < len(KNOWN)  # bnsh's learned position embeddings are refused
    for entry in loadable:
        for command in (entry.eval_command, entry.data_command):
            words = shlex.split(command)
            assert words[0] == "trm"
            group, args = root, words[1:]
            while hasattr(group, "commands") and args and args[0] in group.commands:
                group, args = group.commands[args[0]], args[1:]
            group.make_context(words[1], args)  # raises on an unknown option or a bad value
        assert entry.spec in entry.eval_command


def test_models_check_says_unreachable_at_once_offline_and_what_it_would_fetch_online(monkeypatch, hub):
    import socket
    import time

    from trm.checkpoints import catalog

    real_probe = catalog.probe
    with socket.socket() as s:  # a port nothing listens on: the probe fails at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(catalog, "_endpoint", lambda: ("127.0.0.1", port))
    start = time.monotonic()
    assert real_probe(timeout=2.0).startswith(f"no connection to 127.0.0.1:{port}")
    assert time.monotonic() - start < 2.0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert real_probe(timeout=0.1) == "HF_HUB_OFFLINE is set"
    monkeypatch.delenv("HF_HUB_OFFLINE")

    monkeypatch.setattr(catalog, "probe", lambda timeout: "no connection to huggingface.co:443 (refused)")
    result = runner.invoke(_app(), ["models", "--check", "--task", "maze"])
    assert result.exit_code == 0, result.output
    assert "unreachable: no connection to huggingface.co:443" in result.output
    assert "0 of 2 reachable" in result.output and hub.calls == []

    monkeypatch.setattr(catalog, "probe", lambda timeout: None)
    shutil.copytree(REFERENCE / "trm_att", hub.repo("arcprize/trm_arc_prize_verification") / "arc_v1_public")
    result = runner.invoke(_app(), ["models", "--check", "--task", "arc"])
    assert result.exit_code == 0, result.output
    assert "reachable: would fetch arc_v1_public/step_1 (+2 small files)" in result.output
    assert "unreachable: could not list the repository (OSError: 404" in result.output
    ptrm = hub.repo("glouriousgautam/ptrm-sudoku-trm") / "checkpoints" / "run-a"
    shutil.copytree(REFERENCE / "trm_mlpt", ptrm)
    result = runner.invoke(_app(), ["models", "--check", "--task", "sudoku"])
    assert (
        "reachable; no checkpoint here; checkpoints in checkpoints/run-a/: add one to the spec"
        in result.output
    )
    assert hub.downloaded == []  # listing only


def test_convert_needs_the_task_when_the_shapes_do_not_tell(tmp_path):
    folder = tmp_path / "att"
    shutil.copytree(REFERENCE / "trm_att", folder)
    (folder / "dataset.json").unlink()
    state = torch.load(folder / "step_1", weights_only=True)
    key = "model.inner.embed_tokens.embedding_weight"
    state[key] = state[key][:7]  # vocab 7: no known task
    state["model.inner.lm_head.weight"] = state["model.inner.lm_head.weight"][:7]
    torch.save(state, folder / "step_1")
    result = runner.invoke(_app(), ["convert", str(folder), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "pass --task" in result.output
    result = runner.invoke(
        _app(), ["convert", str(folder), "--out", str(tmp_path / "run"), "--task", "toy", "--seq-len", "81"]
    )
    assert result.exit_code == 0, result.output
    assert "task toy: grid 9x9, seq_len 81, vocab 7" in result.output
    result = runner.invoke(_app(), ["convert", str(folder), "--out", str(tmp_path / "run"), "--task", "toy"])
    assert result.exit_code == 2 and "--overwrite" in result.output
    result = runner.invoke(_app(), ["convert", str(tmp_path / "run"), "--out", str(tmp_path / "again")])
    assert result.exit_code == 2 and "already a trm checkpoint" in result.output


def test_the_readme_and_the_docs_list_every_catalog_entry():
    from pathlib import Path

    from trm.checkpoints.catalog import KNOWN

    root = Path(__file__).resolve().parents[1]
    readme, docs = (root / "README.md").read_text(), (root / "docs" / "pretrained.md").read_text()
    for entry in KNOWN:
        assert f"`{entry.spec}`" in readme and f"`{entry.spec}`" in docs, entry.spec
        if entry.loads:
            assert entry.eval_command in docs, entry.spec
