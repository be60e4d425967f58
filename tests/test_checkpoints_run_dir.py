"""Checkpoint I/O: round trip, the atomic ``latest`` pointer, crash safety, inference loading."""

from __future__ import annotations

import pytest
import torch

from trm.checkpoints import run_dir as ckpt
from trm.config import RunConfig
from trm.data.format import DatasetMetadata
from trm.models import build_model
from trm.training.ema import EMA

META = DatasetMetadata(task="toy", vocab_size=6, seq_len=16, grid_shape=(4, 4), num_puzzle_identifiers=4)


def _config(out_dir) -> RunConfig:
    return RunConfig.model_validate(
        dict(
            out_dir=str(out_dir),
            model=dict(
                hidden_size=32,
                num_heads=2,
                num_layers=1,
                mixer="mlp_t",
                H_cycles=2,
                L_cycles=2,
                halt_max_steps=4,
                puzzle_emb_len=2,
                width_multiple=16,
            ),
        )
    )


def _model_and_ema(cfg: RunConfig):
    torch.manual_seed(0)
    model = build_model(cfg, META)
    ema = EMA(model, 0.5)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # raw weights now differ from the averages
    ema.update(model)
    return model, ema


def _save(out, model, ema, cfg, step, **kw):
    return ckpt.save_checkpoint(
        out,
        step=step,
        epoch=step / 10,
        model=model,
        config=cfg,
        metadata=META,
        ema_state=ema.model_state_dict(model),
        **kw,
    )


def test_round_trip_raw_and_ema_weights_from_any_path(tmp_path):
    cfg = _config(tmp_path / "run")
    model, ema = _model_and_ema(cfg)
    step_dir = _save(tmp_path / "run", model, ema, cfg, 7, state={"step": 7, "x": torch.arange(3)})
    assert step_dir.name == "step_00000007"
    assert (tmp_path / "run" / "checkpoints" / "latest").read_text().strip() == "step_00000007"
    for path in (tmp_path / "run", tmp_path / "run" / "checkpoints", step_dir):
        loaded, loaded_cfg, meta = ckpt.load_for_inference(path, device="cpu")
        assert not loaded.training and meta.seq_len == 16 and loaded_cfg.model.hidden_size == 32
        averaged = ema.model_state_dict(model)  # the raw puzzle-embedding table stays out of the EMA
        for name, p in loaded.named_parameters():
            assert torch.equal(p, averaged[name]), name
    raw, _, _ = ckpt.load_for_inference(tmp_path / "run", device="cpu", use_ema=False)
    for (name, p), q in zip(raw.named_parameters(), model.parameters(), strict=True):
        assert torch.equal(p, q), name
    state = ckpt.load_training_state(step_dir)
    assert state["step"] == 7 and torch.equal(state["x"], torch.arange(3))
    assert ckpt.read_meta(step_dir)["dataset"]["vocab_size"] == 6


def test_latest_moves_only_after_a_complete_write(tmp_path, monkeypatch):
    cfg = _config(tmp_path / "run")
    model, ema = _model_and_ema(cfg)
    _save(tmp_path / "run", model, ema, cfg, 1, state={"step": 1})

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # killed in the middle of writing step 2

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        _save(tmp_path / "run", model, ema, cfg, 2, state={"step": 2})
    root = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step_00000001"]  # no temp dir left
    assert ckpt.latest_checkpoint(tmp_path / "run").name == "step_00000001"


def test_latest_falls_back_to_newest_complete_dir(tmp_path):
    cfg = _config(tmp_path / "run")
    model, ema = _model_and_ema(cfg)
    for step in (3, 12):
        _save(tmp_path / "run", model, ema, cfg, step)
    root = tmp_path / "run" / "checkpoints"
    (root / "latest").unlink()
    (root / "step_00000099").mkdir()  # incomplete: no meta.json
    assert ckpt.latest_checkpoint(tmp_path / "run").name == "step_00000012"
    # Re-saving a step replaces it.
    _save(tmp_path / "run", model, ema, cfg, 12)
    assert ckpt.latest_checkpoint(root).name == "step_00000012"
    assert ckpt.latest_checkpoint(tmp_path / "empty") is None
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        ckpt.resolve_step_dir(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="cannot be resumed"):
        ckpt.load_training_state(root / "step_00000003")
