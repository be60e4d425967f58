"""``hf://`` checkpoints and ``trm push``, with huggingface_hub redirected to a local folder (no network).

``FakeHub`` (``hub_standin``) stands in for the hub: it lists a repository, downloads only the files
``allow_patterns`` selects into a cache named by a commit hash, and ``HfApi.upload_folder`` copies
into the repository.
"""

from __future__ import annotations

import json
import shutil

import huggingface_hub
import pytest
import torch
from typer.testing import CliRunner

from conftest import shared_data_dir
from hub_standin import FakeHub
from trm.checkpoints import CheckpointError, load_any, load_for_inference, load_official, save_checkpoint
from trm.checkpoints.hub import parse_spec
from trm.cli import app
from trm.config import RunConfig
from trm.data.format import DatasetMetadata
from trm.models import build_model

REFERENCE = shared_data_dir() / "reference_checkpoints"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    return FakeHub(tmp_path / "hub").install(monkeypatch)


def test_specs_parse_and_bad_ones_are_named():
    s = parse_spec("hf://arcprize/trm_arc_prize_verification/arc_v1_public@main")
    assert (s.repo_id, s.subfolder, s.revision) == (
        "arcprize/trm_arc_prize_verification",
        "arc_v1_public",
        "main",
    )
    assert parse_spec("hf://a/b") == parse_spec("hf://a/b/")
    assert str(s) == "hf://arcprize/trm_arc_prize_verification/arc_v1_public@main"
    for bad in ("hf://just-one", "hf://a/b c", "hf://"):
        with pytest.raises(CheckpointError, match="hf://owner/repo"):
            parse_spec(bad)


def _same_weights(a, b):
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_a_reference_checkpoint_downloads_only_its_files_and_loads_in_place(hub):
    if not (REFERENCE / "trm_att").is_dir():
        pytest.skip("reference checkpoints not available")
    folder = hub.repo("someone/trm-att") / "sudoku"
    shutil.copytree(REFERENCE / "trm_att", folder)
    shutil.copyfile(folder / "step_1", folder / "step_7")  # a folder of steps: only the newest comes
    (folder / "golden.npz").rename(folder / "big_unrelated.npz")
    model, config, metadata = load_any("hf://someone/trm-att/sudoku@v1", device="cpu")
    assert sorted(p for _, p in hub.downloaded) == [
        "sudoku/all_config.yaml", "sudoku/dataset.json", "sudoku/step_7",
    ]  # fmt: skip
    expected, _, _ = load_official(REFERENCE / "trm_att")
    _same_weights(model, expected)
    assert metadata.task == "sudoku" and config.model.mixer == "attention"

    hub.downloaded.clear()  # a spec naming one file brings the files that describe it
    one_file, _, _ = load_any("hf://someone/trm-att/sudoku/step_1", device="cpu")
    assert sorted(p for _, p in hub.downloaded) == [
        "sudoku/all_config.yaml", "sudoku/dataset.json", "sudoku/step_1",
    ]  # fmt: skip
    _same_weights(one_file, expected)
    hub.downloaded.clear()
    load_any("hf://someone/trm-att/sudoku@step=1", device="cpu")  # @step=N picks one of the steps
    assert ("someone/trm-att", "sudoku/step_1") in hub.downloaded

    with pytest.raises(CheckpointError, match=r"hf://someone/missing: could not list .*OSError: 404"):
        load_any("hf://someone/missing", device="cpu")
    with pytest.raises(CheckpointError, match="hf://someone/trm-att/nope: .*no folder or file 'nope'"):
        load_any("hf://someone/trm-att/nope", device="cpu")
    with pytest.raises(CheckpointError, match=r"no step 5 here \(steps: 1, 7\)"):
        load_any("hf://someone/trm-att/sudoku@step=5", device="cpu")

    hub.online = False  # offline: the cached snapshot's files are the listing
    hub.downloaded.clear()
    cached, _, _ = load_any("hf://someone/trm-att/sudoku", device="cpu")
    _same_weights(cached, expected)
    assert hub.downloaded == []


def test_a_root_without_a_checkpoint_names_the_subfolders_before_downloading(hub):
    if not (REFERENCE / "trm_att").is_dir():
        pytest.skip("reference checkpoints not available")
    for sub in ("arc_v1_public", "arc_v2_public"):
        shutil.copytree(REFERENCE / "trm_att", hub.repo("arcprize/verification") / sub)
    (hub.repo("arcprize/verification") / "README.md").write_text("# models\n")
    with pytest.raises(CheckpointError) as info:
        load_any("hf://arcprize/verification", device="cpu")
    assert str(info.value) == (
        "hf://arcprize/verification: no checkpoint here; checkpoints in arc_v1_public/ and "
        "arc_v2_public/: add one to the spec"
    )
    assert hub.downloaded == [] and hub.calls == []


META = DatasetMetadata(task="sudoku", vocab_size=8, seq_len=36, grid_shape=(6, 6), num_puzzle_identifiers=1)


def _run(tmp_path):
    cfg = RunConfig.model_validate(
        dict(name="tiny", out_dir=str(tmp_path / "run"), task="sudoku",
             model=dict(hidden_size=16, num_heads=2, num_layers=1, mixer="mlp_t", H_cycles=1, L_cycles=1,
                        halt_max_steps=2, puzzle_emb_len=2, width_multiple=16))
    )  # fmt: skip
    torch.manual_seed(0)
    model = build_model(cfg, META)
    ema = {k: v * 0.5 for k, v in model.state_dict().items()}
    (tmp_path / "run").mkdir()
    record = {"kind": "eval", "step": 5, "epoch": 1.0, "exact_accuracy": 0.625}
    (tmp_path / "run" / "metrics.jsonl").write_text(json.dumps(record) + "\n")
    return save_checkpoint(tmp_path / "run", step=5, epoch=1.0, model=model, config=cfg, metadata=META,
                           ema_state=ema, state={"optimizer": {}})  # fmt: skip


def test_push_then_hf_round_trips_our_run_bit_for_bit(hub, tmp_path):
    step_dir = _run(tmp_path)
    result = CliRunner().invoke(app, ["push", str(tmp_path / "run"), "--repo", "me/tiny-sudoku"])
    assert result.exit_code == 0, result.output
    assert "https://hub.test/me/tiny-sudoku" in result.output
    repo = hub.repo("me/tiny-sudoku")
    uploaded = sorted(p.name for p in repo.iterdir())
    assert uploaded == ["README.md", "config.yaml", "ema.safetensors", "meta.json", "model.safetensors"]
    for name in ("model.safetensors", "ema.safetensors", "config.yaml"):
        assert (repo / name).read_bytes() == (step_dir / name).read_bytes()
    assert sorted(json.loads((repo / "meta.json").read_text())["files"]) == [
        "config.yaml", "ema.safetensors", "model.safetensors",
    ]  # fmt: skip
    card = (repo / "README.md").read_text()
    assert card.startswith('---\nlibrary_name: "trm"\n') and "parameters: " in card
    assert "| exact_accuracy | 0.6250 |" in card and "hf://me/tiny-sudoku" in card
    for use_ema in (True, False):
        ours, _, meta = load_for_inference(step_dir, device="cpu", use_ema=use_ema)
        back, _, meta_back = load_any("hf://me/tiny-sudoku", device="cpu", use_ema=use_ema)
        assert meta_back == meta
        for (name, p), q in zip(ours.state_dict().items(), back.state_dict().values(), strict=True):
            assert torch.equal(p, q), name
    with pytest.raises(CheckpointError, match="apply to checkpoints without a trm config only"):
        load_any("hf://me/tiny-sudoku", device="cpu", config=RunConfig.model_validate({"task": "maze"}))


def test_push_refuses_a_damaged_checkpoint(hub, tmp_path):
    step_dir = _run(tmp_path)
    data = bytearray((step_dir / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (step_dir / "model.safetensors").write_bytes(bytes(data))
    result = CliRunner().invoke(app, ["push", str(step_dir), "--repo", "me/broken"])
    assert result.exit_code != 0
    assert not hub.repo("me/broken").exists()


def test_an_upload_failure_is_one_clear_error(hub, tmp_path, monkeypatch):
    _run(tmp_path)

    class NoToken:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, **kwargs):
            raise PermissionError("401 Unauthorized: no token")

    monkeypatch.setattr(huggingface_hub, "HfApi", NoToken)
    result = CliRunner().invoke(app, ["push", str(tmp_path / "run"), "--repo", "me/x"])
    assert result.exit_code == 2  # the CLI-wide handler: one line naming the repo, no traceback
    assert "hf://me/x: could not upload: PermissionError: 401" in result.output
    assert "Traceback" not in result.output
