"""``trm train``: help text, config errors (exit 2, no traceback), a tiny end-to-end run."""

from __future__ import annotations

import numpy as np
import yaml
from typer.testing import CliRunner

from trm.cli import app
from trm.data.format import DatasetMetadata, write_split

runner = CliRunner()


def test_help_names_recipe_resume_and_overrides():
    result = runner.invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    for word in ("--recipe", "--resume", "key=value", "checkpoint"):
        assert word in result.output


def test_unknown_override_key_exits_2_with_the_key_named():
    result = runner.invoke(app, ["train", "--recipe", "quickstart", "train.epoch=3"])
    assert result.exit_code == 2
    assert "train.epoch" in result.output and "Traceback" not in result.output


def test_missing_dataset_exits_2(tmp_path):
    result = runner.invoke(
        app,
        ["train", "--recipe", "quickstart", f"data.path={tmp_path / 'none'}", f"out_dir={tmp_path / 'o'}"],
    )
    assert result.exit_code == 2 and "not found" in result.output


def test_tiny_run_from_a_recipe_file(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        x = rng.integers(1, 6, size=(16, 16))
        meta = DatasetMetadata(
            task="toy", vocab_size=6, seq_len=16, grid_shape=(4, 4), num_puzzle_identifiers=1
        )
        write_split(
            tmp_path / "data",
            split,
            inputs=x,
            labels=x,
            puzzle_identifiers=np.zeros(16, dtype=int),
            puzzle_indices=np.arange(17),
            group_indices=np.arange(17),
            metadata=meta,
        )
    recipe = {
        "base": "quickstart",
        "name": "tiny",
        "model": {
            "hidden_size": 16,
            "num_heads": 2,
            "num_layers": 1,
            "H_cycles": 1,
            "L_cycles": 1,
            "halt_max_steps": 2,
            "puzzle_emb_len": 1,
            "width_multiple": 8,
        },
        "train": {
            "global_batch_size": 4,
            "max_minutes": None,
            "max_steps": 3,
            "device": "cpu",
            "dtype": "float32",
        },
        "eval": {"batch_size": 8},
        "logging": {"tensorboard": False},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe))
    out = tmp_path / "run"
    args = [
        "train",
        "--recipe",
        str(path),
        "--no-progress",
        f"data.path={tmp_path / 'data'}",
        f"out_dir={out}",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"{out}/checkpoints" in result.output and "step 3" in result.output
    assert (out / "checkpoints" / "step_00000003" / "model.safetensors").is_file()
    again = runner.invoke(app, args)  # the run dir is taken: an error that says what to do
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = runner.invoke(app, [*args, "--resume", "train.max_steps=5"])
    assert resumed.exit_code == 0, resumed.output
    assert (out / "checkpoints" / "latest").read_text().strip() == "step_00000005"
