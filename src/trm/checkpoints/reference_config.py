"""What a reference checkpoint's ``all_config.yaml`` and tensor shapes say about its model and task.

``model_fields`` maps the reference ``arch:`` section onto our ModelConfig: TRM is one network of
``L_layers`` blocks with single-logit halting (``no_ACT_continue``, the default) or Q-learning; HRM
has an L and an H module, a prefix of ceil(puzzle_emb_ndim / hidden) positions, the one-step gradient
and Q-learning halting. Sizes come from the tensors when they show them (hidden size and vocabulary
from the token embedding, blocks per module from the key indices, identifier count from the puzzle
embedding, seq_len from the MLP-T width), so a config value that disagrees with a tensor is caught.
``infer_task`` names the task from (vocab, seq_len) when only one reference dataset fits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from torch import Tensor

from trm.checkpoints.errors import CheckpointError

BLOCK = re.compile(r"^(L_level|H_level)\.layers\.(\d+)\.(.+)$")
# task -> (vocab_size, seq_len, grid_shape) of the reference datasets (the HRM and TRM papers' tasks).
TASKS = {"sudoku": (11, 81, (9, 9)), "maze": (6, 900, (30, 30)), "arc": (12, 900, (30, 30))}


def infer_task(
    vocab: int, seq_len: int | None, task: str | None, where: str
) -> tuple[str, int, tuple[int, int]]:
    """(task, seq_len, grid_shape) from what is known; an error names the option that is missing."""
    if task is None:
        found = [n for n, (v, s, _) in TASKS.items() if v == vocab and seq_len in (None, s)]
        if len(found) != 1:
            raise CheckpointError(
                f"cannot tell the task of a model with vocab {vocab} and seq_len {seq_len}: pass --task "
                "(sudoku, maze, arc or your own; config task=...) and, if unknown, --seq-len",
                file=where,
            )
        task = found[0]
    if task in TASKS:
        v, s, shape = TASKS[task]
        if vocab != v:
            raise CheckpointError(
                f"task {task} has vocab {v}, the checkpoint's embedding has {vocab}", file=where
            )
        seq_len = s if seq_len is None else seq_len
        if seq_len == s:
            return task, seq_len, shape
    if seq_len is None:
        raise CheckpointError(f"cannot tell the sequence length of task {task}: pass --seq-len", file=where)
    side = math.isqrt(seq_len)
    return task, seq_len, (side, side) if side * side == seq_len else (1, seq_len)


def _shape(state: Mapping[str, Tensor], key: str, where: str) -> tuple[int, ...]:
    if key not in state:
        raise CheckpointError(f"has no {key!r} weight; not a TRM/HRM checkpoint", file=where)
    return tuple(state[key].shape)


def model_fields(
    arch_cfg: dict[str, Any],
    state: Mapping[str, Tensor],
    where: str,
    *,
    defaults: bool = True,
    seq_len: int | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """(ModelConfig fields from ``arch:`` and the tensor shapes, the ``arch:`` keys neither gives).

    ``defaults``: a config file was found, so keys it omits take the reference trainer's defaults
    (``puzzle_emb_len`` 16, ``no_ACT_continue`` true); without one they must be given. ``seq_len``
    (from the dataset or the caller) lets an MLP-T width show the prefix length."""
    name = str(arch_cfg.get("name", ""))
    hrm = "hrm" in name.lower() or any(k.startswith("H_level.") for k in state)
    if not hrm and name and "trm" not in name.lower():
        raise CheckpointError(f"architecture {name!r} is not TRM or HRM; trm cannot convert it", file=where)
    if arch_cfg.get("causal"):
        raise CheckpointError(
            "causal attention is not supported (the papers' models are non-causal)", file=where
        )
    vocab, d = _shape(state, "embed_tokens.embedding_weight", where)
    mlp_t = any(".mlp_t." in k for k in state)
    layers = {
        lvl: 1
        + max((int(m.group(2)) for k in state if (m := BLOCK.match(k)) and m.group(1) == lvl), default=-1)
        for lvl in ("L_level", "H_level")
    }
    fields: dict[str, Any] = {
        "arch": "hrm" if hrm else "trm",
        "hidden_size": d,
        "vocab_size": vocab,
        "mixer": "mlp_t" if mlp_t else "attention",
        "width_multiple": 256,
        "rope_theta": float(arch_cfg.get("rope_theta", 10000.0)),
        "rms_eps": float(arch_cfg.get("rms_norm_eps", 1e-5)),
    }
    needed = ["H_cycles", "L_cycles", "halt_max_steps"] + (["num_heads"] if hrm or not mlp_t else [])
    missing = [k for k in needed if k not in arch_cfg]
    for ours, theirs in (("num_heads", "num_heads"), ("expansion", "expansion"), ("H_cycles", "H_cycles"),
                         ("L_cycles", "L_cycles"), ("halt_max_steps", "halt_max_steps"),
                         ("halt_exploration_prob", "halt_exploration_prob")):  # fmt: skip
        if theirs in arch_cfg:
            fields[ours] = arch_cfg[theirs]
    gate_up = "L_level.layers.0.mlp.gate_up_proj.weight"
    if "expansion" not in arch_cfg and gate_up in state:  # the SwiGLU width shows it (rounded to 256)
        fields["expansion"] = 1.5 * state[gate_up].shape[0] / 2 / d
    if arch_cfg.get("hidden_size", d) != d:
        raise CheckpointError(
            f"arch.hidden_size={arch_cfg['hidden_size']} but the weights have width {d}", file=where
        )
    if "puzzle_emb.weights" in state:
        rows, ndim = _shape(state, "puzzle_emb.weights", where)
        if ndim > d:
            raise CheckpointError(
                f"a puzzle embedding of width {ndim} > hidden_size {d} (several prefix positions) "
                "is not supported",
                file=where,
            )
        fields.update(puzzle_emb=True, num_puzzle_identifiers=rows)
    else:
        ndim = int(arch_cfg.get("puzzle_emb_ndim", 0) or 0)
        fields["puzzle_emb"] = False
    prefix = -(-ndim // d)  # ceil(puzzle_emb_ndim / hidden): the reference's default prefix length
    width = _shape(state, "L_level.layers.0.mlp_t.gate_up_proj.weight", where)[1] if mlp_t else None
    if hrm:
        fields.update(
            puzzle_emb_len=prefix, gradient="one_step", halting="q_learning",
            l_layers=layers["L_level"], h_layers=layers["H_level"],
        )  # fmt: skip
    else:
        fields["num_layers"] = layers["L_level"]
        if "puzzle_emb_len" in arch_cfg or defaults:
            # The reference TRM config defaults to 16 prefix positions; 0 means ceil(ndim / hidden).
            fields["puzzle_emb_len"] = int(arch_cfg.get("puzzle_emb_len", 16) or prefix)
        elif width is not None and seq_len is not None:
            fields["puzzle_emb_len"] = width - seq_len
        else:
            missing.append("puzzle_emb_len")
        if "no_ACT_continue" in arch_cfg or defaults:
            fields["halting"] = "single" if arch_cfg.get("no_ACT_continue", True) else "q_learning"
        else:
            missing.append("no_ACT_continue")
    if width is not None and "puzzle_emb_len" in fields:
        fields["seq_len"] = width - fields["puzzle_emb_len"]
        if fields["seq_len"] <= 0:
            raise CheckpointError(
                f"the MLP-T width {width} leaves no positions after a prefix of {fields['puzzle_emb_len']}",
                file=where,
            )
    return fields, missing


def shown_by_weights(fields: dict[str, Any]) -> str:
    """What the tensors told, for an error that asks for the rest."""
    blocks = (
        f"{fields['h_layers']}+{fields['l_layers']} blocks"
        if fields["arch"] == "hrm"
        else f"{fields['num_layers']} blocks"
    )
    parts = [fields["arch"].upper(), f"{fields['mixer']} mixer", f"hidden {fields['hidden_size']}",
             f"vocab {fields['vocab_size']}", blocks]  # fmt: skip
    if fields.get("puzzle_emb"):
        parts.append(f"{fields['num_puzzle_identifiers']} puzzle identifiers")
    if fields.get("seq_len"):
        parts.append(f"seq_len {fields['seq_len']}")
    return ", ".join(parts)


def train_fields(raw: dict[str, Any]) -> dict[str, Any]:
    keys = ("global_batch_size", "epochs", "eval_interval", "lr", "lr_min_ratio", "lr_warmup_steps",
            "beta1", "beta2", "weight_decay", "puzzle_emb_lr", "puzzle_emb_weight_decay", "ema",
            "ema_rate", "seed")  # fmt: skip
    out = {k: raw[k] for k in keys if raw.get(k) is not None}
    loss = str(raw.get("arch", {}).get("loss", {}).get("loss_type", ""))
    if loss.startswith(("stablemax", "softmax")):
        out["loss"] = loss.split("_")[0]
    return out
