"""``hf://owner/repo[/path][@revision][@step=N]``: checkpoints on the Hugging Face hub, fetched file by file.

Design choices:

- List first, download second: the repository's file list (``HfApi.list_repo_files``; offline, the
  cached snapshot's files) goes through the same layout rules as a local folder (``layouts``), and
  only the chosen weights file and the small files that describe it (``all_config.yaml``, ``X.yaml``,
  ``dataset.json``; ours: ``meta.json``, ``config.yaml``, the safetensors) are downloaded. A folder of
  ten 2.5 GB steps costs one step; a repository root that holds checkpoints only in subfolders is an
  error naming them before any byte is downloaded.
- Downloads go through ``huggingface_hub.snapshot_download`` with the chosen paths as
  ``allow_patterns`` (its cache, token and offline settings). ``huggingface_hub`` is imported inside
  the functions, so ``import trm`` does not import it.
- Nothing is converted or copied: a reference checkpoint is read where the hub cache holds it
  (memory-mapped, ``weights_only=True``), so a multi-GB ARC file is neither duplicated nor unpickled.
- Errors name the ``hf://`` spec, not a cache path.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

from trm.checkpoints import layouts
from trm.checkpoints.errors import CheckpointError

HUB_SCHEME = "hf://"
_SPEC = re.compile(r"^hf://(?P<repo>[\w.-]+/[\w.-]+)(?P<sub>(/[\w.-]+)*)/?(@(?P<rev>[\w./-]+))?$")


@dataclass(frozen=True)
class HubSpec:
    repo_id: str  # owner/name
    subfolder: str | None  # folder or file inside the repo
    revision: str | None  # branch, tag or commit
    step: int | None = None  # @step=N: which step of a folder of steps

    def __str__(self) -> str:
        sub = f"/{self.subfolder}" if self.subfolder else ""
        rev = f"@{self.revision}" if self.revision else ""
        step = f"@step={self.step}" if self.step is not None else ""
        return f"{HUB_SCHEME}{self.repo_id}{sub}{rev}{step}"


def parse_spec(spec: str) -> HubSpec:
    """``hf://owner/repo[/path][@revision][@step=N]`` -> its parts; anything else is a clear error."""
    text, step = layouts.split_step(spec.strip())
    m = _SPEC.match(text)
    if not m:
        raise CheckpointError(
            "not a hub checkpoint spec (expected hf://owner/repo[/subfolder][@revision][@step=N])", file=spec
        )
    sub = m.group("sub").strip("/") or None
    return HubSpec(m.group("repo"), sub, m.group("rev"), step)


def _failure(e: Exception) -> str:
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {first}"


def list_files(spec: HubSpec) -> list[str]:
    """Every file path of the repository at the spec's revision; offline, those of the cached snapshot."""
    import huggingface_hub

    try:
        return sorted(huggingface_hub.HfApi().list_repo_files(spec.repo_id, revision=spec.revision))
    except Exception as e:  # huggingface_hub raises many types (offline, 404, auth): try the cache
        listing_error = e
    try:
        local = huggingface_hub.snapshot_download(spec.repo_id, revision=spec.revision, local_files_only=True)
    except Exception:  # not cached either: report why the listing failed
        raise CheckpointError(
            f"could not list the repository ({_failure(listing_error)})", file=str(spec)
        ) from None
    return layouts.local_files(Path(local), depth=32)


def choose(spec: HubSpec, files: list[str], step: int | None = None) -> layouts.Choice:
    """What to download for ``spec`` from the repository's ``files``."""
    where = str(spec)
    step = layouts.merge_step(spec.step, step, where)
    sub = spec.subfolder or ""
    if sub and sub in files:
        if step is not None:
            raise CheckpointError("names one file; @step=N / --step pick among a folder's steps", file=where)
        return layouts.choose_file(files, sub, where)
    if sub and not any(f.startswith(sub + "/") for f in files):
        raise CheckpointError(f"the repository has no folder or file {sub!r}", file=where)
    return layouts.choose_in(files, sub, step, where)


@dataclass(frozen=True)
class Fetched:
    path: Path  # the local weights file, or our step dir
    ours: bool
    label: str  # hf://owner/repo/<weights path>[@revision]: what errors name


def fetch(spec_text: str, step: int | None = None) -> Fetched:
    """Download what ``spec_text`` needs (see the module docstring)."""
    import huggingface_hub

    spec = parse_spec(spec_text)
    choice = choose(spec, list_files(spec), step)
    patterns = [glob.escape(f) for f in choice.files]  # exact paths: fnmatch would read [ ] * ? as wildcards
    try:
        local = Path(
            huggingface_hub.snapshot_download(spec.repo_id, revision=spec.revision, allow_patterns=patterns)
        )
    except Exception as e:  # one clear line naming the spec
        raise CheckpointError(
            f"could not download {choice.weights} ({_failure(e)})", file=str(spec)
        ) from None
    weights = local / choice.weights
    if not weights.is_file():
        raise CheckpointError(f"{choice.weights} is listed but was not downloaded", file=str(spec))
    rev = f"@{spec.revision}" if spec.revision else ""
    label = f"{HUB_SCHEME}{spec.repo_id}/{choice.weights}{rev}"
    return Fetched(weights.parent if choice.ours else weights, choice.ours, label)
