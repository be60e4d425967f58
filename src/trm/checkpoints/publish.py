"""Publishing a run on the Hugging Face hub (``trm push``): its weights, config and a model card.

What is uploaded is one step dir, as it is on disk, minus ``state.pt`` (optimizer state: large, and a
pickle nobody should load from the internet): ``model.safetensors``, ``ema.safetensors`` when the run
kept an EMA, ``config.yaml``, and ``meta.json`` whose ``files`` lists exactly the uploaded files with
their sizes and SHA-256 (so ``hf://owner/name`` verifies what it downloads); plus a ``README.md`` model
card whose YAML header carries the hub metadata (library, tags, parameter count). The weight files are
copied byte for byte, so a push followed by ``hf://`` loads the same tensors.

Design choices:

- The checkpoint is verified before anything is uploaded: a damaged run is not published.
- The upload is one commit (``HfApi.upload_folder`` of a staged folder), so the repo never holds
  half a checkpoint. ``huggingface_hub`` is imported inside the function (an optional dependency).
- Measured metrics in the card come from files, never typed in: the run's last evaluation in
  ``metrics.jsonl`` and, when given, a ``trm eval --out`` report.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from trm.checkpoints import run_dir
from trm.checkpoints.errors import CheckpointError
from trm.checkpoints.integrity import file_records

UPLOADED = ("model.safetensors", "ema.safetensors", "config.yaml")


def _metric_lines(metrics: dict[str, Any]) -> list[str]:
    keys = sorted(
        k for k, v in metrics.items() if isinstance(v, int | float) and not k.startswith("halt_rate")
    )
    return [
        f"| {k} | {metrics[k]:.4f} |" if isinstance(metrics[k], float) else f"| {k} | {metrics[k]} |"
        for k in keys
    ]


def model_card(step_dir: Path, repo: str, eval_report: dict[str, Any] | None = None) -> str:
    """README.md for the hub: YAML metadata, the architecture, the recipe, measured metrics, how to load."""
    from trm.models import count_parameters

    model, config, metadata = run_dir.load_for_inference(step_dir, device="cpu", verify=False)
    meta = run_dir.read_meta(step_dir)
    m, t = config.model, config.train
    params = count_parameters(model)
    del model
    header = {
        "library_name": "trm",
        "tags": list(dict.fromkeys(["trm", "tiny-recursive-model", m.arch, metadata.task, "puzzle-solving"])),
        "model_type": m.arch,
        "parameters": params,
    }
    lines = ["---", *(f"{k}: {json.dumps(v)}" for k, v in header.items()), "---", ""]
    name = repo.split("/")[-1]
    lines += [
        f"# {name}",
        "",
        f"A {m.arch.upper()} model ({m.mixer} mixer) for the **{metadata.task}** task, trained with "
        f"trm {meta.get('trm_version', '?')}: {params:,} parameters "
        "(puzzle embedding excluded).",
        "",
        "| architecture | value |",
        "|---|---|",
        f"| hidden size d | {m.hidden_size} |",
        f"| blocks | {m.num_layers if m.arch == 'trm' else f'{m.l_layers} (L) + {m.h_layers} (H)'} |",
        f"| cycles T (H_cycles), n (L_cycles) | {m.H_cycles}, {m.L_cycles} |",
        f"| supervision steps N_sup | {m.halt_max_steps} |",
        f"| grid, seq_len, vocab | {metadata.grid_shape[0]}x{metadata.grid_shape[1]}, {metadata.seq_len}, "
        f"{metadata.vocab_size} |",
        "",
        "## Recipe",
        "",
        f"Run `{config.name}`: checkpoint of step {meta.get('step')} (epoch {meta.get('epoch', 0):.1f}); "
        f"batch {t.global_batch_size}, optimizer {t.optimizer}, lr {t.lr:g}, "
        f"weight decay {t.weight_decay:g}, EMA {t.ema_rate if t.ema else 'off'}, loss {t.loss}. "
        "The full config is `config.yaml`.",
        "",
    ]
    measured = []
    evals = _last_eval(step_dir)
    if evals:
        measured += [
            "During training (last evaluation, `metrics.jsonl`):",
            "",
            "| metric | value |",
            "|---|---|",
        ]
        measured += _metric_lines(evals) + [""]
    if eval_report:
        split = eval_report.get("split_name", "")
        measured += [f"`trm eval` report ({eval_report.get('data', '')} {split}):", "", "| metric | value |",
                     "|---|---|"]  # fmt: skip
        measured += _metric_lines(eval_report.get("metrics", eval_report)) + [""]
    lines += ["## Measured", "", *(measured or ["No evaluation was recorded with this checkpoint.", ""])]
    lines += [
        "## Use it",
        "",
        "```bash",
        "pip install trm",
        f'trm solve --checkpoint hf://{repo} "<puzzle>"',
        f"trm eval --checkpoint hf://{repo} --data <dataset folder>",
        "```",
        "",
        "```python",
        "import trm",
        f'solver = trm.Solver.load("hf://{repo}")',
        "```",
        "",
    ]
    return "\n".join(lines)


def _last_eval(step_dir: Path) -> dict[str, Any]:
    from trm.metrics_log import read_metrics

    records = read_metrics(step_dir.parent.parent, "eval")
    return records[-1] if records else {}


def stage(path: str | Path, folder: Path, repo: str, eval_report: dict[str, Any] | None = None) -> Path:
    """Write what ``push`` uploads into ``folder``; returns the step dir it came from."""
    step_dir = run_dir.resolve_step_dir(path)
    run_dir.verify_checkpoint(step_dir)
    names = [n for n in UPLOADED if (step_dir / n).is_file()]
    for n in names:
        shutil.copyfile(step_dir / n, folder / n)
    meta = run_dir.read_meta(step_dir)
    meta["files"] = file_records(folder, names)
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    (folder / "README.md").write_text(model_card(step_dir, repo, eval_report))
    return step_dir


def push(
    path: str | Path,
    repo: str,
    *,
    private: bool = False,
    eval_report: dict[str, Any] | None = None,
    commit_message: str | None = None,
    token: str | None = None,
) -> str:
    """Upload the newest (or the given) checkpoint of a run to ``repo`` in one commit; returns its URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="trm-push-") as tmp:
        step_dir = stage(path, Path(tmp), repo, eval_report)
        message = commit_message or f"trm push: {step_dir.parent.parent.name} {step_dir.name}"
        try:
            api.create_repo(repo, private=private, exist_ok=True)
            info = api.upload_folder(repo_id=repo, folder_path=tmp, commit_message=message)
        except Exception as e:  # huggingface_hub raises many types (no token, 403, offline): one clear line
            raise CheckpointError(f"could not upload: {type(e).__name__}: {e}", file=f"hf://{repo}") from None
    return str(getattr(info, "commit_url", None) or f"https://huggingface.co/{repo}")
