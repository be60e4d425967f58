"""Checkpoint integrity: checksums recorded and verified, damaged files refused by name, resume falls back
to the newest checkpoint that verifies, and a save that fails midway loses nothing."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from trm.checkpoints import CheckpointError, latest_verified_checkpoint, load_for_inference, read_meta
from trm.checkpoints import run_dir as ckpt
from trm.cli import app
from trm.config import RunConfig
from trm.data.errors import InputError
from trm.data.format import DatasetMetadata, write_split
from trm.data.sudoku import generate, to_tokens
from trm.files import sha256_file
from trm.models import build_model
from trm.training.loop import train

META = DatasetMetadata(task="sudoku", vocab_size=8, seq_len=36, grid_shape=(6, 6), num_puzzle_identifiers=1)


def _config(out_dir, data=None, **train_fields) -> RunConfig:
    train_cfg = dict(global_batch_size=4, epochs=100, lr=3e-3, lr_warmup_steps=1, optimizer="adamw",
                     eval_interval=None, dtype="float32", device="cpu", ema_rate=0.5)  # fmt: skip
    train_cfg.update(train_fields)
    model = dict(hidden_size=16, num_heads=2, num_layers=1, mixer="mlp_t", H_cycles=1, L_cycles=1,
                 halt_max_steps=2, puzzle_emb_len=2, width_multiple=16)  # fmt: skip
    return RunConfig.model_validate(
        dict(
            out_dir=str(out_dir),
            task="sudoku",
            model=model,
            data=dict(path=data and str(data)),
            train=train_cfg,
            eval=dict(batch_size=8),
            logging=dict(tensorboard=False),
        )
    )


def _save(out, step, seed=0):
    cfg = _config(out)
    torch.manual_seed(seed)
    model = build_model(cfg, META)
    ema = {k: v + 1 for k, v in model.state_dict().items()}
    return ckpt.save_checkpoint(
        out, step=step, epoch=0.0, model=model, config=cfg, metadata=META, ema_state=ema, state={"step": step}
    )


def test_meta_records_size_and_sha256_of_every_file(tmp_path):
    step_dir = _save(tmp_path / "run", 3)
    files = read_meta(step_dir)["files"]
    assert sorted(files) == ["config.yaml", "ema.safetensors", "model.safetensors", "state.pt"]
    for name, rec in files.items():  # the record format datasets use too
        assert rec == {"bytes": (step_dir / name).stat().st_size, "sha256": sha256_file(step_dir / name)}
    ckpt.verify_checkpoint(step_dir)  # a fresh checkpoint verifies


def test_a_checkpoint_with_the_older_size_records_still_verifies(tmp_path):
    """Checkpoints written before the shared format recorded ``{"size", "sha256"}``."""
    step_dir = _save(tmp_path / "run", 3)
    meta = json.loads((step_dir / "meta.json").read_text())
    meta["files"] = {n: {"size": r["bytes"], "sha256": r["sha256"]} for n, r in meta["files"].items()}
    (step_dir / "meta.json").write_text(json.dumps(meta))
    ckpt.verify_checkpoint(step_dir)
    with open(step_dir / "state.pt", "ab") as f:
        f.write(b"x")
    with pytest.raises(CheckpointError, match=r"state\.pt: damaged: \d+ bytes, meta.json records \d+"):
        ckpt.verify_checkpoint(step_dir)


def _flip(path, count=64):
    data = bytearray(path.read_bytes())
    for i in range(len(data) - count, len(data)):  # the tensor data at the end, not the header
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_byte_flipped_ema_file_is_refused_by_name_unless_told_not_to_verify(tmp_path):
    step_dir = _save(tmp_path / "run", 3)
    good, _, _ = load_for_inference(step_dir, device="cpu")
    _flip(step_dir / "ema.safetensors")
    with pytest.raises(CheckpointError, match="SHA-256") as info:
        load_for_inference(tmp_path / "run", device="cpu")
    assert str(info.value).startswith(str(step_dir / "ema.safetensors"))
    assert isinstance(info.value, InputError)  # the CLI prints it as one line
    damaged, _, _ = load_for_inference(step_dir, device="cpu", verify=False)
    pairs = zip(good.state_dict().values(), damaged.state_dict().values(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)
    load_for_inference(step_dir, device="cpu", use_ema=False)  # the raw weights are intact and verify


def test_a_truncated_ema_file_names_the_file_with_and_without_verification(tmp_path):
    step_dir = _save(tmp_path / "run", 3)
    f = step_dir / "ema.safetensors"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated") as info:
        load_for_inference(step_dir, device="cpu")
    assert str(f) in str(info.value)
    with pytest.raises(CheckpointError, match="not a readable safetensors file") as info:
        load_for_inference(step_dir, device="cpu", verify=False)
    assert str(f) in str(info.value)
    (step_dir / "meta.json").write_text('{"step": 3,\n "files": ')
    with pytest.raises(CheckpointError, match=r"meta.json:2:\d+: not valid JSON"):
        load_for_inference(step_dir, device="cpu")


def test_commands_print_one_line_and_exit_2_on_a_damaged_checkpoint(tmp_path):
    step_dir = _save(tmp_path / "run", 3)
    _flip(step_dir / "ema.safetensors")
    puzzle = "".join(str(v) if v else "." for v in generate(6, count=1, seed=1)[0].puzzle.ravel())
    result = CliRunner().invoke(app, ["solve", "--checkpoint", str(tmp_path / "run"), puzzle])
    assert result.exit_code == 2  # the CLI-wide handler: one line naming the file, no traceback
    assert "ema.safetensors: damaged" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(app, ["solve", "--no-verify", "--checkpoint", str(tmp_path / "run"), puzzle])
    assert result.exit_code == 0, result.output  # --no-verify loads the damaged weights anyway


def test_latest_verified_skips_damaged_checkpoints_and_says_why(tmp_path):
    run = tmp_path / "run"
    for step in (2, 4, 6):
        _save(run, step)
    (run / "checkpoints" / "step_00000006" / "state.pt").write_bytes(b"garbage")
    _flip(run / "checkpoints" / "step_00000004" / "model.safetensors")
    found, skipped = latest_verified_checkpoint(run)
    assert found.name == "step_00000002"
    assert [(p.name, "state.pt" in why, "model.safetensors" in why) for p, why in skipped] == [
        ("step_00000006", True, False),
        ("step_00000004", False, True),
    ]
    (run / "checkpoints" / "step_00000002" / "config.yaml").write_text("model: [unclosed\n")
    assert latest_verified_checkpoint(run)[0] is None


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    puzzles = generate(6, count=8, seed=5)
    inputs = np.stack([to_tokens(p.puzzle) for p in puzzles])
    labels = np.stack([to_tokens(p.solution) for p in puzzles])
    for split in ("train", "test"):
        write_split(root, split, inputs=inputs, labels=labels, puzzle_identifiers=np.zeros(8, np.int32),
                    puzzle_indices=np.arange(9), group_indices=np.arange(9), metadata=META)  # fmt: skip
    return root


def test_resume_falls_back_to_the_newest_checkpoint_that_verifies(tmp_path, data_dir, capsys):
    cfg = _config(tmp_path / "run", data_dir, max_steps=4, checkpoint_every=2)
    train(cfg, stop_at_step=4, progress=False)
    root = tmp_path / "run" / "checkpoints"
    assert (root / "latest").read_text().strip() == "step_00000004"
    _flip(root / "step_00000004" / "ema.safetensors")
    capsys.readouterr()
    cfg6 = _config(tmp_path / "run", data_dir, max_steps=6, checkpoint_every=2)
    train(cfg6, resume=True, progress=False)
    said = capsys.readouterr()
    text = said.out + said.err
    assert "skipped step_00000004" in text and "ema.safetensors" in text and "SHA-256" in text
    ckpt.verify_checkpoint(root / "step_00000004")  # re-saved by the run resumed from step 2
    assert (root / "latest").read_text().strip() == "step_00000006"
    assert read_meta(root / "step_00000006")["step"] == 6


def test_a_save_that_fails_midway_leaves_the_previous_checkpoint_and_latest(tmp_path, monkeypatch):
    run = tmp_path / "run"
    first = _save(run, 1)
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    real_save_file = ckpt.save_file

    def disk_full(tensors, filename, metadata=None):
        real_save_file(tensors, filename, metadata=metadata)
        with open(filename, "r+b") as f:
            f.truncate(100)  # half written ...
        raise OSError(errno.ENOSPC, "No space left on device")  # ... then the disk is full

    monkeypatch.setattr(ckpt, "save_file", disk_full)
    with pytest.raises(OSError, match="No space"):
        _save(run, 2)
    with pytest.raises(OSError, match="No space"):
        _save(run, 1)  # re-saving the same step fails too
    monkeypatch.undo()
    root = run / "checkpoints"
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step_00000001"]  # no temp dirs left
    assert (root / "latest").read_text().strip() == "step_00000001"
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before
    ckpt.verify_checkpoint(first)

    # Re-saving a step that fails at the very last rename puts the old step dir back.
    real_replace = os.replace

    def fail_on_final(src, dst):
        if str(src).endswith(f"-{os.getpid()}") and ".tmp-" in str(src):
            raise OSError(errno.EIO, "I/O error")
        return real_replace(src, dst)

    monkeypatch.setattr(ckpt.os, "replace", fail_on_final)
    with pytest.raises(OSError, match="I/O error"):
        _save(run, 1, seed=1)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step_00000001"]
    assert json.loads((first / "meta.json").read_text())["step"] == 1
