"""Which file of a folder holds the weights, and which files beside it describe them.

One rule set for local folders and for a hub repository's file listing, so ``hf://`` downloads exactly
the files a local load would read. It works on relative POSIX paths only (no file is opened), which
is what lets the hub choose before downloading anything.

The layouts published checkpoints use, in the order they are tried in one folder:

1. ours: ``meta.json`` + ``model.safetensors`` (a step dir; ``trm push`` uploads one);
2. step files: any name ending in ``step_N`` / ``step-N`` / ``step=N`` / ``stepN``, with no extension or
   a weights extension (``step_518071``, ``maze_hard_step_32550``, ``step_100.pt``, Lightning's
   ``epoch=3-step=1000.ckpt``): the highest
   N, or the one ``@step=N`` / ``--step N`` names;
3. ``checkpoint`` (the HRM authors' repositories);
4. the only ``.pt/.pth/.bin/.ckpt/.safetensors`` file (``X.pt`` beside ``X.yaml``, Lightning's
   ``last.ckpt``); two or more unnumbered candidates are an error that lists them.

A folder with none of these names the subfolders that hold one. The files beside the weights that
may describe them (``all_config.yaml``, ``X.yaml``, any other YAML, ``dataset.json``) come along;
which YAML is the config is decided after reading them (``reference.find_config``).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from trm.checkpoints.errors import CheckpointError

WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")
STEP_NAME = re.compile(r"^(?:.*[._=-])?step[_=-]?(\d+)(\.(?:pt|pth|bin|ckpt|safetensors))?$")
STEP_OPTION = re.compile(r"@step=(\d+)$")
OURS = ("meta.json", "config.yaml", "model.safetensors", "ema.safetensors")
DESCRIBING = ("dataset.json",)  # beside every YAML file of the folder
_SHOWN = 8


@dataclass(frozen=True)
class Choice:
    weights: str  # relative path of the weights file (ours: of the step dir's model.safetensors)
    files: tuple[str, ...]  # everything to fetch: the weights and the files that describe them
    ours: bool


def split_step(spec: str) -> tuple[str, int | None]:
    """``path@step=N`` -> (path, N); a spec without the suffix -> (spec, None)."""
    m = STEP_OPTION.search(spec)
    return (spec[: m.start()], int(m.group(1))) if m else (spec, None)


def merge_step(from_spec: int | None, option: int | None, where: str) -> int | None:
    if from_spec is not None and option is not None and from_spec != option:
        raise CheckpointError(f"@step={from_spec} and --step {option} disagree: give one", file=where)
    return option if option is not None else from_spec


def _is_weights(name: str) -> bool:
    return bool(STEP_NAME.match(name)) or name == "checkpoint" or name.endswith(WEIGHT_SUFFIXES)


def _children(files: list[str], folder: str) -> list[str]:
    prefix = f"{folder}/" if folder else ""
    return sorted(f[len(prefix) :] for f in files if f.startswith(prefix) and "/" not in f[len(prefix) :])


def _join(folder: str, name: str) -> str:
    return posixpath.join(folder, name) if folder else name


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _describing(names: list[str], folder: str) -> list[str]:
    keep = [n for n in names if n.endswith((".yaml", ".yml")) or n in DESCRIBING]
    return [_join(folder, n) for n in keep]


def choose_in(files: list[str], folder: str, step: int | None, where: str) -> Choice:
    """The weights of ``folder`` (a relative path, "" for the root) among ``files`` (all relative paths
    of the tree), and the files to fetch with them. ``where`` names the spec in errors."""
    names = _children(files, folder)
    if "meta.json" in names and "model.safetensors" in names:
        picked = [_join(folder, n) for n in OURS if n in names]
        return Choice(_join(folder, "model.safetensors"), tuple(picked), ours=True)
    steps = sorted((int(m.group(1)), n) for n in names if (m := STEP_NAME.match(n)))
    if step is not None:
        named = [n for s, n in steps if s == step]
        if not named:
            have = _listing([str(s) for s, _ in steps]) or "none"
            raise CheckpointError(f"no step {step} here (steps: {have})", file=where)
        steps = [(step, n) for n in named]
    if steps:
        top = [n for s, n in steps if s == steps[-1][0]]
        if len(top) > 1:
            raise CheckpointError(
                f"several files for step {steps[-1][0]}: {_listing(top)}; name one in the spec", file=where
            )
        weights = top[0]
    elif "checkpoint" in names:
        weights = "checkpoint"
    else:
        candidates = [n for n in names if n.endswith(WEIGHT_SUFFIXES)]
        if len(candidates) > 1:
            raise CheckpointError(
                f"several checkpoints here: {_listing(candidates)}; name one in the spec "
                f"(e.g. {_join(where.rstrip('/'), candidates[0])})",
                file=where,
            )
        if not candidates:
            raise no_checkpoint(files, folder, where)
        weights = candidates[0]
    return Choice(_join(folder, weights), (_join(folder, weights), *_describing(names, folder)), ours=False)


def choose_file(files: list[str], path: str, where: str) -> Choice:
    """A spec that names one weights file: that file and the files that describe it."""
    folder = posixpath.dirname(path)
    names = _children(files, folder)
    if posixpath.basename(path) == "model.safetensors" and "meta.json" in names:
        return choose_in(files, folder, None, where)
    return Choice(path, (path, *_describing(names, folder)), ours=False)


def no_checkpoint(files: list[str], folder: str, where: str) -> CheckpointError:
    """The error for a folder without weights: it names the subfolders that hold some."""
    prefix = f"{folder}/" if folder else ""
    inside = [f[len(prefix) :] for f in files if f.startswith(prefix)]
    holders = sorted(
        {posixpath.dirname(f) for f in inside if "/" in f and _is_weights(posixpath.basename(f))}
    )
    if holders:
        names = [h + "/" for h in holders[:_SHOWN]]
        rest = f" and {len(holders) - _SHOWN} more" if len(holders) > _SHOWN else ""
        shown = (
            ", ".join(names) + rest
            if rest or len(names) == 1
            else ", ".join(names[:-1]) + " and " + names[-1]
        )
        return CheckpointError(f"no checkpoint here; checkpoints in {shown}: add one to the spec", file=where)
    return CheckpointError(
        "no checkpoint here (expected a run dir, a step dir, a step_N file, `checkpoint`, or one "
        ".pt/.pth/.bin/.ckpt/.safetensors file)",
        file=where,
    )


def local_files(root: Path, depth: int = 4) -> list[str]:
    """The relative paths of the files under ``root`` (hidden entries skipped), ``depth`` levels deep."""
    out: list[str] = []

    def walk(folder: Path, rel: str, left: int) -> None:
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_file():
                out.append(_join(rel, entry.name))
            elif entry.is_dir() and left > 0:
                walk(entry, _join(rel, entry.name), left - 1)

    walk(root, "", depth)
    return out
