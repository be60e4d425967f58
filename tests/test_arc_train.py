"""A tiny TRM trains on a few ConceptARC tasks; the voting evaluation runs end to end on its checkpoint and
agrees with an independent recount of the raw predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import shared_data_dir
from trm.config import RunConfig
from trm.data.arc import augment
from trm.data.arc.build import build_arc_dataset
from trm.data.arc.identifiers import VariantTable
from trm.data.arc.score import load_solutions, score_submission
from trm.data.arc.task import ArcTask
from trm.data.format import open_split

MINIMAL = shared_data_dir() / "conceptarc" / "MinimalTasks"
TASKS = ("CopyMinimal", "CenterMinimal", "CountMinimal", "OrderMinimal")
pytestmark = pytest.mark.skipif(not MINIMAL.exists(), reason="ConceptARC not available")


def _config(data: Path, out: Path) -> RunConfig:
    return RunConfig.model_validate(
        dict(
            out_dir=str(out),
            task="arc",
            model=dict(
                hidden_size=32,
                num_heads=2,
                num_layers=1,
                mixer="attention",
                H_cycles=1,
                L_cycles=1,
                halt_max_steps=2,
                puzzle_emb_len=2,
                width_multiple=16,
            ),
            data=dict(path=str(data)),
            train=dict(
                global_batch_size=8,
                epochs=1000,
                max_steps=40,
                lr=3e-3,
                lr_warmup_steps=2,
                optimizer="adamw",
                weight_decay=0.1,
                puzzle_emb_lr=1e-2,
                puzzle_emb_weight_decay=0.1,
                eval_interval=None,
                log_every=10,
                ema_rate=0.8,
                dtype="float32",
                device="cpu",
                seed=0,
            ),
            eval=dict(batch_size=32),
            logging=dict(tensorboard=False),
        )
    )


def _recount(split, table, preds, q) -> dict[str, list[int | None]]:
    """Independent vote count: decode with the task codec, undo the augmentation, rank by (count, mean q)."""
    codec = ArcTask()
    votes: dict[tuple[str, int], dict[bytes, list]] = {}
    for p in range(split.num_puzzles):
        info, t, cmap = table.lookup(int(split.puzzle_identifiers[p]))
        for j, e in enumerate(split.examples_of_puzzle(p)):
            grid = codec.decode(preds[e], (30, 30))
            if grid.size == 0:
                continue
            g = augment.invert(t, cmap, grid)
            slot = votes.setdefault((info.name, j), {}).setdefault(bytes(g.shape) + g.tobytes(), [0, 0.0, g])
            slot[0] += 1
            slot[1] += 1 / (1 + np.exp(-float(q[e])))
    sols = load_solutions(path=split.path.parent)
    ranks: dict[str, list[int | None]] = {}
    for info in table.tasks:
        row = []
        for j, truth in enumerate(sols[info.name]):
            cands = sorted(
                votes.get((info.name, j), {}).items(), key=lambda kv: (-kv[1][0], -kv[1][1] / kv[1][0], kv[0])
            )
            hit = [
                i for i, (_, (_, _, g)) in enumerate(cands) if g.shape == truth.shape and (g == truth).all()
            ]
            row.append(hit[0] if hit else None)
        ranks[info.name] = row
    return ranks


def _vote_and_check(data: Path, model, out: Path, num_variants: int) -> dict[str, float]:
    """Evaluate every variant, vote, and check the result against an independent recount and the scorer."""
    from trm.data.arc.voting import vote_on_dataset
    from trm.evaluation.evaluate import evaluate

    split, table = open_split(data, "test"), VariantTable.load(data)
    assert split.num_examples == 4 * num_variants * 3  # 4 tasks x variants x 3 test inputs
    ev = evaluate(model, split, batch_size=32, device="cpu", dtype="float32", return_predictions=True)
    res = vote_on_dataset(data, ev.predictions, ev.q_halt, indices=ev.indices, submission_path=out)
    m = res.metrics
    for k in ("pass@1", "pass@2", "pass@1000"):
        assert 0.0 <= m[f"arc/{k}_strict"] <= m[f"arc/{k}"] <= 1.0
    assert m["arc/pass@1"] <= m["arc/pass@2"] <= m["arc/pass@1000"]
    assert res.ranks == _recount(split, table, ev.predictions, ev.q_halt)
    scored = score_submission(out, load_solutions(path=data))["metrics"]
    assert scored["pass@1"] == m["arc/pass@1"] and scored["pass@2"] == m["arc/pass@2"]
    return m


def test_two_step_checkpoint_through_the_cli_and_the_api(tmp_path):
    """`trm arc evaluate` on a checkpoint: submission, report and pictures agree with the Python API."""
    import json

    from typer.testing import CliRunner

    from trm.checkpoints.run_dir import load_for_inference
    from trm.cli import app
    from trm.training.loop import train

    data = tmp_path / "data"
    build_arc_dataset(
        data, train_sources=[], eval_sources=[str(MINIMAL / f"{n}.json") for n in TASKS], variants=2
    )
    cfg = _config(data, tmp_path / "run")
    cfg.train.max_steps = 2
    train(cfg, progress=False)
    model, _, _ = load_for_inference(tmp_path / "run", device="cpu")
    m = _vote_and_check(data, model, tmp_path / "api.json", num_variants=2)
    assert m["arc/num_tasks"] == 4 and m["arc/num_test_inputs"] == 12
    args = [
        "arc",
        "evaluate",
        "-c",
        str(tmp_path / "run"),
        "--out",
        str(tmp_path / "cli.json"),
        "--device",
        "cpu",
    ]
    args += [
        "--report",
        str(tmp_path / "report.json"),
        "--pictures",
        str(tmp_path / "pics"),
        "--pictures-limit",
        "1",
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "cli.json").read_text()) == json.loads((tmp_path / "api.json").read_text())
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["arc/pass@2"] == m["arc/pass@2"] and "exact_accuracy" in report
    assert sorted(p.name for p in (tmp_path / "pics").iterdir()) == [f"{TASKS[0]}_{j}.png" for j in range(3)]


def test_tiny_trm_trains_on_conceptarc_and_votes(tmp_path):
    from trm.checkpoints.run_dir import load_for_inference
    from trm.training.logging import read_metrics
    from trm.training.loop import train

    data = tmp_path / "data"
    build_arc_dataset(
        data, train_sources=[], eval_sources=[str(MINIMAL / f"{n}.json") for n in TASKS], variants=8
    )
    result = train(_config(data, tmp_path / "run"), progress=False)
    assert result.step == 40
    # the trainer's final evaluation votes over the variants: pass@K is in its metrics, and monotone in K
    assert 0.0 <= result.metrics["arc/pass@1"] <= result.metrics["arc/pass@2"] <= 1.0
    records = read_metrics(tmp_path / "run", "train")
    assert records[-1]["lm_loss"] < 0.85 * records[0]["lm_loss"]  # windows of 10 steps: 1.80 -> 1.32 measured
    model, _, _ = load_for_inference(tmp_path / "run", device="cpu")
    _vote_and_check(data, model, tmp_path / "submission.json", num_variants=8)
