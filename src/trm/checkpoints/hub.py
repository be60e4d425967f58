"""``hf://owner/repo[/subfolder][@revision]``: checkpoints on the Hugging Face hub, downloaded and cached.

Design choices:

- Downloads go through ``huggingface_hub.snapshot_download`` (its own cache, its token and offline
  settings), limited to the subfolder when one is named. Imported inside the functions, so
  ``import trm`` does not import it.
- A snapshot in our format (what ``trm push`` uploads: a step dir) is loaded in place, verified by
  its checksums. A snapshot in the reference format is converted ONCE into a run dir under
  ``$TRM_CACHE`` (default ``~/.cache/trm``) ``/hub/<owner>--<repo>/<key>/<subfolder>``; the key is the
  snapshot's commit hash when the snapshot folder is named by one (immutable), else a hash of the
  weights file's path, size and modification time, so a changed file is converted again.
- Nothing downloaded is unpickled: reference weights are read with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from trm.checkpoints.errors import CheckpointError
from trm.config import ModelConfig, RunConfig

HUB_SCHEME = "hf://"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SPEC = re.compile(r"^hf://(?P<repo>[\w.-]+/[\w.-]+)(?P<sub>(/[\w.-]+)*)/?(@(?P<rev>[\w./-]+))?$")


@dataclass(frozen=True)
class HubSpec:
    repo_id: str  # owner/name
    subfolder: str | None  # folder inside the repo
    revision: str | None  # branch, tag or commit

    def __str__(self) -> str:
        sub = f"/{self.subfolder}" if self.subfolder else ""
        rev = f"@{self.revision}" if self.revision else ""
        return f"{HUB_SCHEME}{self.repo_id}{sub}{rev}"


def parse_spec(spec: str) -> HubSpec:
    """``hf://owner/repo[/subfolder][@revision]`` -> its parts; anything else is a clear error."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise CheckpointError(
            "not a hub checkpoint spec (expected hf://owner/repo[/subfolder][@revision])", file=spec
        )
    sub = m.group("sub").strip("/") or None
    return HubSpec(m.group("repo"), sub, m.group("rev"))


def cache_root() -> Path:
    return Path(os.environ.get("TRM_CACHE") or Path.home() / ".cache" / "trm").expanduser()


def download(spec: HubSpec) -> Path:
    """The local snapshot folder of ``spec`` (the subfolder or file inside it when one is named, e.g.
    ``hf://owner/repo/step_32550`` for one of several reference checkpoints)."""
    from huggingface_hub import snapshot_download

    patterns = [spec.subfolder, f"{spec.subfolder}/*"] if spec.subfolder else None  # a folder or one file
    try:
        local = Path(snapshot_download(spec.repo_id, revision=spec.revision, allow_patterns=patterns))
    except Exception as e:  # huggingface_hub raises many types (offline, 404, auth): one clear line
        raise CheckpointError(f"could not download: {type(e).__name__}: {e}", file=str(spec)) from None
    folder = local / spec.subfolder if spec.subfolder else local
    if not folder.exists():
        raise CheckpointError(f"the repository has no folder or file {spec.subfolder!r}", file=str(spec))
    return folder


def _cache_key(snapshot: Path, weights: Path) -> str:
    for part in (snapshot, *snapshot.parents):
        if _COMMIT.match(part.name):
            return part.name
    st = weights.stat()
    return hashlib.sha256(f"{weights.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]


def local_checkpoint(spec_text: str, config: RunConfig | ModelConfig | None = None) -> Path:
    """Download ``spec_text``; return a local checkpoint in our format (reference weights converted once,
    with ``config`` supplying what they lack)."""
    from trm.checkpoints import reference
    from trm.checkpoints.resolve import convert, is_ours, reject_config

    spec = parse_spec(spec_text)
    folder = download(spec)
    if is_ours(folder):
        reject_config(config, spec_text)
        return folder
    if not reference.is_reference(folder):
        raise CheckpointError(
            "holds neither a trm checkpoint (meta.json + model.safetensors) nor a reference step_<N> file",
            file=str(spec),
        )
    weights = reference.find_reference(folder).weights
    owner, name = spec.repo_id.split("/")
    key = _cache_key(folder, weights)
    if config is not None:  # a conversion with other options is another cache entry
        options = config.model_dump_json(exclude_unset=True)
        key += "-" + hashlib.sha256(options.encode()).hexdigest()[:8]
    run = cache_root() / "hub" / f"{owner}--{name}" / key / (spec.subfolder or "_")
    if is_ours(run):
        return run
    convert(folder, run, config)
    return run
