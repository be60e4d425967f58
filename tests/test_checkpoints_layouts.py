"""Every published checkpoint layout loads and reproduces the reference code's outputs, or says what to do.

Each test builds, from the shared reference checkpoints (``golden.npz`` beside them holds what the
reference code computed), a folder laid out as one community repository publishes its checkpoints:
file names, folders, nesting and key prefixes. Over ``hf://`` the same folders are served by
``hub_standin.FakeHub``, which downloads exactly the files ``allow_patterns`` selects.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from conftest import shared_data_dir
from hub_standin import FakeHub
from trm.checkpoints import CheckpointError, load_any

REFERENCE = shared_data_dir() / "reference_checkpoints"
pytestmark = pytest.mark.skipif(not REFERENCE.is_dir(), reason="reference checkpoints not available")
runner = CliRunner()


def _state(kind: str) -> dict[str, torch.Tensor]:
    return torch.load(REFERENCE / kind / "step_1", weights_only=True)


def _arch(kind: str) -> dict:
    return yaml.safe_load((REFERENCE / kind / "all_config.yaml").read_text())["arch"]


def assert_golden(model, kind: str) -> None:
    """Three supervision steps from a fresh carry give the reference code's logits and q values."""
    golden = np.load(REFERENCE / kind / "golden.npz")
    batch = {
        "inputs": torch.as_tensor(golden["inputs"]).long(),
        "puzzle_identifiers": torch.as_tensor(golden["puzzle_identifiers"]).long(),
    }
    carry = model.initial_carry(batch)
    with torch.no_grad():
        for s in range(3):
            carry, out = model(carry, batch)
            # fp32 rounding grows through the recursion: 1e-4 at step 1, then 1e-3
            torch.testing.assert_close(
                out.logits, torch.from_numpy(golden["logits"][s]), atol=1e-4 if s == 0 else 1e-3, rtol=0
            )
            torch.testing.assert_close(out.q_halt, torch.from_numpy(golden["q_halt"][s]), atol=2e-4, rtol=0)


def _beside(folder, kind, *names):
    for name in names:
        shutil.copyfile(REFERENCE / kind / name, folder / name)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    return FakeHub(tmp_path / "hub").install(monkeypatch)


# -- file names --------------------------------------------------------------------------------------------


def test_step_files_with_any_prefix_and_extension_the_highest_wins_or_step_picks(tmp_path):
    folder = tmp_path / "maze"
    folder.mkdir()
    _beside(folder, "trm_att", "all_config.yaml", "dataset.json")
    shutil.copyfile(REFERENCE / "trm_att" / "step_1", folder / "maze_hard_step_32550")
    shutil.copyfile(REFERENCE / "trm_att" / "step_1", folder / "step_100.pt")
    (folder / "step_1.pth").write_bytes(b"not a checkpoint")
    (folder / "step_100.yaml").write_text("not: weights\n")  # a YAML named like a step is not a candidate
    model, _, metadata = load_any(folder, device="cpu")
    assert metadata.build["checkpoint"].endswith("maze_hard_step_32550")
    assert_golden(model, "trm_att")
    model, _, metadata = load_any(folder, device="cpu", step=100)
    assert metadata.build["checkpoint"].endswith("step_100.pt")
    with pytest.raises(CheckpointError, match=r"step_1\.pth: not a readable PyTorch checkpoint"):
        load_any(f"{folder}@step=1", device="cpu")
    with pytest.raises(CheckpointError, match=r"no step 7 here \(steps: 1, 100, 32550\)"):
        load_any(folder, device="cpu", step=7)
    with pytest.raises(CheckpointError, match="disagree"):
        load_any(f"{folder}@step=1", device="cpu", step=100)


def test_x_pt_beside_x_yaml_loads(tmp_path):
    folder = tmp_path / "GAR_ckpts"
    folder.mkdir()
    shutil.copyfile(REFERENCE / "trm_mlpt" / "step_1", folder / "TRM-MLP-Sudoku-Extreme.pt")
    shutil.copyfile(REFERENCE / "trm_mlpt" / "all_config.yaml", folder / "TRM-MLP-Sudoku-Extreme.yaml")
    model, config, metadata = load_any(folder, device="cpu")  # no dataset.json: the shapes tell the rest
    assert (metadata.task, metadata.seq_len, metadata.num_puzzle_identifiers) == ("sudoku", 81, 3)
    assert_golden(model, "trm_mlpt")
    shutil.copyfile(folder / "TRM-MLP-Sudoku-Extreme.pt", folder / "TRM-Att-PPBench.pt")
    with pytest.raises(CheckpointError, match="several checkpoints here: TRM-Att-PPBench.pt, TRM-MLP-Sudoku"):
        load_any(folder, device="cpu")
    same, _, _ = load_any(folder / "TRM-MLP-Sudoku-Extreme.pt", device="cpu")  # naming one picks it
    assert_golden(same, "trm_mlpt")


def test_a_lone_yaml_with_an_arch_section_is_the_config(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copyfile(REFERENCE / "hrm" / "step_1", folder / "checkpoint")
    shutil.copyfile(REFERENCE / "hrm" / "all_config.yaml", folder / "config.yaml")
    (folder / "hydra.yaml").write_text("defaults: [arch: hrm]\nlr: 0.1\n")  # no arch: mapping: ignored
    model, config, _ = load_any(folder, device="cpu")
    assert config.model.arch == "hrm"
    assert_golden(model, "hrm")
    (folder / "other.yaml").write_text(yaml.safe_dump({"arch": _arch("hrm")}))
    with pytest.raises(CheckpointError, match=r"several YAML files .*config.yaml, other.yaml.*--arch-config"):
        load_any(folder, device="cpu")


# -- what the file holds -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrap, source",
    [
        (lambda s, noise: {"model": s, "step": 10}, "weights under 'model'"),
        (lambda s, noise: {"ema": s, "model": noise}, "EMA weights under 'ema'"),
        (lambda s, noise: {"state_dict": s}, "weights under 'state_dict'"),
        (lambda s, noise: {"model_state_dict": s, "optimizer_state_dict": {"lr": 0.1}}, "'model_state_dict'"),
        (
            lambda s, noise: {  # Lightning's last.ckpt: the module's attribute name prefixes the keys
                "epoch": 3,
                "global_step": 1200,
                "pytorch-lightning_version": "2.1.0",
                "state_dict": {f"model.{k}": v for k, v in s.items()},
                "optimizer_states": [{"state": {}}],
                "lr_schedulers": [],
                "callbacks": {"EMA": {"decay": 0.999}},
            },  # fmt: skip
            "weights under 'state_dict'",
        ),
        (lambda s, noise: {f"module.{k}": v for k, v in s.items()}, "the file's state dict"),  # DDP
    ],
    ids=["model", "ema-preferred", "state_dict", "model_state_dict", "lightning", "ddp-module-prefix"],
)
def test_nested_and_prefixed_weights_load_and_say_which_were_used(tmp_path, wrap, source):
    folder = tmp_path / "nested"
    folder.mkdir()
    _beside(folder, "trm_att", "all_config.yaml", "dataset.json")
    state = _state("trm_att")
    noise = {k: torch.zeros_like(v) for k, v in state.items()}
    torch.save(wrap(state, noise), folder / "last.ckpt")
    model, _, metadata = load_any(folder, device="cpu")
    assert source in metadata.build["weights"]
    assert_golden(model, "trm_att")


def test_a_dict_without_weights_names_the_keys_it_looked_for(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    _beside(folder, "trm_att", "all_config.yaml")
    torch.save({"params": {"w": [1, 2]}, "step": 3}, folder / "step_3")
    with pytest.raises(CheckpointError, match=r"keys: params, step\); the weights are looked for under ema"):
        load_any(folder, device="cpu")


# -- no config ---------------------------------------------------------------------------------------------

NEEDED = {
    "trm_att": ["H_cycles", "L_cycles", "halt_max_steps", "num_heads", "puzzle_emb_len", "no_ACT_continue"],
    "trm_mlpt": ["H_cycles", "L_cycles", "halt_max_steps", "puzzle_emb_len", "no_ACT_continue"],
    "hrm": ["H_cycles", "L_cycles", "halt_max_steps", "num_heads"],
}


@pytest.mark.parametrize("kind", ["trm_att", "trm_mlpt", "hrm"])
def test_a_step_file_without_config_needs_exactly_what_the_weights_do_not_show(tmp_path, kind):
    folder = tmp_path / kind
    folder.mkdir()
    shutil.copyfile(REFERENCE / kind / "step_1", folder / "step_1")  # alphaXiv style: the file alone
    with pytest.raises(CheckpointError) as info:
        load_any(folder, device="cpu")
    message = str(info.value)
    assert (
        "the rest is not in the weights: " + ", ".join(sorted(NEEDED[kind], key=NEEDED[kind].index))
        in message
    )
    assert "--arch H_cycles=<T>,L_cycles=<n>" in message and "--arch-config" in message
    assert "vocab 11" in message and "3 puzzle identifiers" in message
    arch = _arch(kind)
    given = {k: arch[k] for k in NEEDED[kind]}
    model, config, metadata = load_any(folder, device="cpu", arch=given)
    assert (metadata.task, metadata.seq_len) == ("sudoku", 81)
    assert_golden(model, kind)
    text = ",".join(f"{k}={str(v).lower()}" for k, v in given.items())
    (tmp_path / "arch.yaml").write_text(yaml.safe_dump({"arch": arch}))
    from_file, _, _ = load_any(folder, device="cpu", arch_config=tmp_path / "arch.yaml", arch=text)
    assert_golden(from_file, kind)


def test_convert_with_seq_len_alone_never_builds_a_model(tmp_path):
    from trm.cli import app

    folder = tmp_path / "alone"
    folder.mkdir()
    shutil.copyfile(REFERENCE / "trm_att" / "step_1", folder / "step_518071")
    out = tmp_path / "run"
    result = runner.invoke(app, ["convert", str(folder), "--out", str(out), "--seq-len", "81"])
    assert result.exit_code == 2 and "--arch H_cycles=<T>" in result.output
    assert not (out / "checkpoints").exists()
    arch = _arch("trm_att")
    text = ",".join(f"{k}={str(arch[k]).lower()}" for k in NEEDED["trm_att"])
    result = runner.invoke(app, ["convert", str(folder), "--out", str(out), "--arch", text])
    assert result.exit_code == 0, result.output
    assert "step_00518071" in result.output
    result = runner.invoke(
        app, ["convert", str(folder), "--out", str(out), "--overwrite", "--arch", "T=2,heads=4"]
    )
    assert result.exit_code == 2 and "unknown architecture key 'heads'" in result.output


def test_a_root_of_subfolders_names_them(tmp_path):
    for sub in ("sudoku-extreme/augmented-hrm", "sudoku-extreme/baseline"):
        shutil.copytree(REFERENCE / "hrm", tmp_path / "repo" / sub)
    with pytest.raises(
        CheckpointError, match=r"checkpoints in sudoku-extreme/augmented-hrm/ and sudoku-extreme/"
    ):
        load_any(tmp_path / "repo", device="cpu")


# -- the same layouts over hf:// ---------------------------------------------------------------------------


def test_layouts_over_the_hub_fetch_one_weights_file_and_its_description(hub, tmp_path):
    repo = hub.repo("MaximeILL/GAR_ckpts")
    repo.mkdir(parents=True)
    for name in ("TRM-MLP-Sudoku-Extreme", "TRM-Att-PPBench"):
        shutil.copyfile(REFERENCE / "trm_mlpt" / "step_1", repo / f"{name}.pt")
        shutil.copyfile(REFERENCE / "trm_mlpt" / "all_config.yaml", repo / f"{name}.yaml")
    with pytest.raises(CheckpointError, match="hf://MaximeILL/GAR_ckpts: several checkpoints here"):
        load_any("hf://MaximeILL/GAR_ckpts", device="cpu")
    assert hub.downloaded == []
    model, _, _ = load_any("hf://MaximeILL/GAR_ckpts/TRM-MLP-Sudoku-Extreme.pt", device="cpu")
    assert_golden(model, "trm_mlpt")
    # The spec's file and every YAML beside it come (which YAML is the config is read locally); no other .pt.
    assert sorted(p for _, p in hub.downloaded) == [
        "TRM-Att-PPBench.yaml", "TRM-MLP-Sudoku-Extreme.pt", "TRM-MLP-Sudoku-Extreme.yaml",
    ]  # fmt: skip

    steps = hub.repo("ThomasHeim/HRM-Reproduction-Checkpoints") / "sudoku-extreme" / "augmented-hrm"
    steps.mkdir(parents=True)
    _beside(steps, "hrm", "all_config.yaml")
    for n in (1302, 2604, 52080):
        shutil.copyfile(REFERENCE / "hrm" / "step_1", steps / f"step_{n}")
    spec = "hf://ThomasHeim/HRM-Reproduction-Checkpoints"
    with pytest.raises(CheckpointError, match="checkpoints in sudoku-extreme/augmented-hrm/: add one"):
        load_any(spec, device="cpu")
    hub.downloaded.clear()
    model, _, _ = load_any(spec + "/sudoku-extreme/augmented-hrm", device="cpu")
    assert_golden(model, "hrm")
    assert sorted(p.rsplit("/", 1)[1] for _, p in hub.downloaded) == ["all_config.yaml", "step_52080"]

    lightning = hub.repo("someone/lightning")
    lightning.mkdir(parents=True)
    _beside(lightning, "trm_att", "all_config.yaml", "dataset.json")
    torch.save({"state_dict": _state("trm_att"), "epoch": 1}, lightning / "last.ckpt")
    model, _, metadata = load_any("hf://someone/lightning", device="cpu")
    assert_golden(model, "trm_att")
    assert metadata.build["checkpoint"] == "hf://someone/lightning/last.ckpt"
    (lightning / "epoch=3-step=1000.ckpt").write_bytes(b"truncated")  # Lightning's step name wins
    with pytest.raises(CheckpointError) as info:
        load_any("hf://someone/lightning", device="cpu")
    assert str(info.value).startswith("hf://someone/lightning/epoch=3-step=1000.ckpt: not a readable")

    bare = hub.repo("alphaXiv/trm-model-arc-agi-1")
    bare.mkdir(parents=True)
    shutil.copyfile(REFERENCE / "trm_att" / "step_1", bare / "step_723914")
    with pytest.raises(CheckpointError) as info:
        load_any("hf://alphaXiv/trm-model-arc-agi-1", device="cpu")
    assert str(info.value).startswith("hf://alphaXiv/trm-model-arc-agi-1/step_723914: no config beside it")
