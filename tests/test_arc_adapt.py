"""`trm arc adapt` end to end on ConceptARC tasks the model never saw: new identifiers, demonstrations only,
a frozen network in mode "embeddings", before/after votes that `trm arc evaluate` reproduces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from conftest import shared_data_dir
from trm.cli import app
from trm.data.arc.build import build_arc_dataset
from trm.data.arc.identifiers import VariantTable
from trm.data.arc.tasks_io import load_source
from trm.data.format import open_split

MINIMAL = shared_data_dir() / "conceptarc" / "MinimalTasks"
SEEN = ("CopyMinimal", "CenterMinimal", "CountMinimal")
NEW = ("OrderMinimal", "CleanUpMinimal")
TABLE = "embed.puzzle.weight"
pytestmark = pytest.mark.skipif(not MINIMAL.exists(), reason="ConceptARC not available")


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    from test_arc_train import _config
    from trm.training.loop import train

    root = tmp_path_factory.mktemp("base")
    build_arc_dataset(
        root / "data", train_sources=[], eval_sources=[str(MINIMAL / f"{n}.json") for n in SEEN], variants=4
    )
    cfg = _config(root / "data", root / "run")
    cfg.train.max_steps = 4
    train(cfg, progress=False)
    return root / "run"


def _step_dir(run: Path) -> Path:
    return run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()


def test_cli_adapts_new_tasks_and_evaluate_reproduces_the_after_score(base_run, tmp_path):
    out = tmp_path / "adapted"
    args = ["arc", "adapt", "-c", str(base_run), "--out", str(out), "--steps", "2", "--variants", "8"]
    args += ["--batch-size", "2", "--device", "cpu"]
    res = CliRunner().invoke(app, args + [a for n in NEW for a in ("--tasks", str(MINIMAL / f"{n}.json"))])
    assert res.exit_code == 0, res.output
    record = json.loads((out / "adapt.json").read_text())
    assert record["steps"] == 2 and record["num_tasks"] == 2
    for when in ("before", "after"):
        assert 0.0 <= record[when]["arc/pass@1"] <= record[when]["arc/pass@2"] <= 1.0
        assert record[when]["arc/num_tasks"] == 2
    assert sorted(json.loads((out / "submission.json").read_text())) == sorted(NEW)

    # new identifiers: the adapted dataset holds the new tasks only, and trains on their demonstrations only
    data = out / "data"
    table, train, test = VariantTable.load(data), open_split(data, "train"), open_split(data, "test")
    tasks = {t.name: t for n in NEW for t in load_source(str(MINIMAL / f"{n}.json"))}
    assert [t.name for t in table.tasks] == list(NEW) and table.num_identifiers == 1 + 2 * 8
    assert train.num_examples == 8 * sum(t.num_train for t in tasks.values())
    assert test.num_examples == 8 * sum(t.num_test for t in tasks.values())

    # mode "embeddings": the network is the source's EMA network bit for bit; only table rows moved
    src = load_file(str(_step_dir(base_run) / "ema.safetensors"))
    new = load_file(str(_step_dir(out) / "model.safetensors"))
    assert set(src) == set(new)
    for k in src:
        if k != TABLE:
            assert np.array_equal(src[k].numpy(), new[k].numpy()), k
    rows = new[TABLE].numpy()
    assert rows.shape[0] == 1 + 2 * 8 and not rows[0].any()  # row 0 stays the blank identifier
    mean = src[TABLE].numpy()[1:].mean(axis=0)  # init "mean": untouched rows still hold it exactly
    untouched = np.all(rows[1:] == mean, axis=1)
    assert 1 <= (~untouched).sum() <= 2 * 2  # 2 steps of batch 2 touch at most 4 variants' rows
    assert untouched.sum() >= 16 - 4

    # the adapted run is an ordinary run dir: trm arc evaluate gives the same after-score
    res = CliRunner().invoke(
        app, ["arc", "evaluate", "-c", str(out), "--device", "cpu", "--out", str(tmp_path / "s.json"),
              "--report", str(tmp_path / "r.json")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "r.json").read_text())
    for k in ("arc/pass@1", "arc/pass@2", "token_accuracy"):
        assert report[k] == pytest.approx(record["after"][k]), k
    assert json.loads((tmp_path / "s.json").read_text()) == json.loads((out / "submission.json").read_text())


def test_mode_all_also_tunes_the_network_and_refuses_a_used_out_dir(base_run, tmp_path):
    from trm.config import ConfigError
    from trm.training.adapt import AdaptSettings, adapt

    settings = AdaptSettings(steps=2, mode="all", variants=2, init="zeros", batch_size=2, device="cpu")
    result = adapt(base_run, [str(MINIMAL / f"{NEW[0]}.json")], tmp_path / "all", settings)
    src = load_file(str(_step_dir(base_run) / "ema.safetensors"))
    new = load_file(str(result.checkpoint / "model.safetensors"))
    moved = [k for k in src if k != TABLE and not np.array_equal(src[k].numpy(), new[k].numpy())]
    assert moved  # the network was fine-tuned too
    assert result.after["arc/num_tasks"] == 1.0
    with pytest.raises(ConfigError, match="already holds checkpoints"):
        adapt(base_run, [str(MINIMAL / f"{NEW[0]}.json")], tmp_path / "all", settings)
    with pytest.raises(ValueError, match="mode"):
        AdaptSettings(mode="network")
