"""``--arch key=value,...`` and ``--arch-config FILE``: the architecture of a checkpoint that lacks one.

Keys are the reference trainer's ``arch:`` names (what a published ``all_config.yaml`` holds), so a
run's own config file can be passed as it is; ``T``, ``n`` and ``N_sup`` are accepted for
``H_cycles``, ``L_cycles`` and ``halt_max_steps``. ``seq_len`` and ``task`` may ride along (they live
in the dataset, not in ``arch:``). Values are read as YAML scalars (``3``, ``0.1``, ``true``). Unknown
keys are errors that list the known ones; ``--arch`` wins over ``--arch-config`` key by key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from trm.checkpoints.errors import CheckpointError

ARCH_KEYS = (
    "H_cycles", "L_cycles", "halt_max_steps", "num_heads", "puzzle_emb_len", "no_ACT_continue",
    "expansion", "hidden_size", "H_layers", "L_layers", "puzzle_emb_ndim", "halt_exploration_prob",
    "rope_theta", "rms_norm_eps", "pos_encodings", "forward_dtype", "mlp_t", "causal", "name", "loss",
)  # fmt: skip
DATA_KEYS = ("seq_len", "task", "num_puzzle_identifiers")
ALIASES = {"T": "H_cycles", "n": "L_cycles", "N_sup": "halt_max_steps"}
PLACEHOLDERS = {"H_cycles": "T", "L_cycles": "n", "halt_max_steps": "N_sup", "num_heads": "heads",
                "puzzle_emb_len": "prefix", "no_ACT_continue": "true|false"}  # fmt: skip


def _check_keys(raw: dict[str, Any], where: str) -> dict[str, Any]:
    out = {}
    for key, value in raw.items():
        key = ALIASES.get(str(key), str(key))
        if key not in ARCH_KEYS and key not in DATA_KEYS:
            known = ", ".join((*ARCH_KEYS, *DATA_KEYS))
            raise CheckpointError(f"unknown architecture key {key!r} (known: {known})", file=where)
        out[key] = value
    return out


def parse_arch(text: str) -> dict[str, Any]:
    """``"H_cycles=3,L_cycles=6,num_heads=8"`` -> {"H_cycles": 3, ...}."""
    raw: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise CheckpointError(f"{item!r} is not key=value", file="--arch")
        try:
            raw[key.strip()] = yaml.safe_load(value.strip())
        except yaml.YAMLError:
            raise CheckpointError(
                f"{item!r}: the value is not a number, boolean or word", file="--arch"
            ) from None
    return _check_keys(raw, "--arch")


def read_arch_file(path: str | Path) -> dict[str, Any]:
    """A YAML file: a run's ``all_config.yaml`` (its ``arch:`` section is used) or a flat mapping."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise CheckpointError(
            "expected a mapping of architecture keys (or an 'arch:' section)", file=str(path)
        )
    if isinstance(raw.get("arch"), dict):
        return _check_keys(raw["arch"], str(path))
    return _check_keys(raw, str(path))


def arch_options(
    arch: str | dict[str, Any] | None = None, arch_config: str | Path | None = None
) -> dict[str, Any] | None:
    """The settings of ``--arch-config`` overlaid with ``--arch``; None when neither is given."""
    if arch is None and arch_config is None:
        return None
    out = read_arch_file(arch_config) if arch_config is not None else {}
    if isinstance(arch, str):
        out.update(parse_arch(arch))
    elif arch is not None:
        out.update(_check_keys(dict(arch), "arch"))
    return out


def flag_hint(missing: list[str]) -> str:
    """``--arch H_cycles=<T>,L_cycles=<n>,...`` for the missing keys."""
    return "--arch " + ",".join(f"{k}=<{PLACEHOLDERS.get(k, '...')}>" for k in missing)


def read_yaml(path: Path) -> Any:
    """``path`` parsed as YAML; a missing file or a syntax error is a CheckpointError naming the file (and
    the line and column of the error)."""
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise CheckpointError("does not exist", file=str(path)) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise CheckpointError(
            f"invalid YAML: {getattr(e, 'problem', e)}", file=str(path), line=line, column=col
        ) from None
