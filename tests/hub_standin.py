"""A local stand-in for the Hugging Face hub that downloads exactly what huggingface_hub would.

``remote/<owner>/<name>/`` is what the hub holds; ``cache/<owner>/<name>/snapshots/<commit>/`` is the
local cache and receives only the files a call selects. ``snapshot_download`` filters the listing
with huggingface_hub's own ``filter_repo_objects`` (fnmatch, ``*`` across ``/``, a trailing ``/``
meaning the folder's contents), so a test sees every byte a real download would fetch, and nothing
more. ``online = False`` makes it behave as ``HF_HUB_OFFLINE``: listings fail, ``snapshot_download``
serves the cache only (``local_files_only``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import huggingface_hub
from huggingface_hub.utils import filter_repo_objects

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, root: Path) -> None:
        self.remote, self.cache = root / "remote", root / "cache"
        self.online = True
        self.downloaded: list[tuple[str, str]] = []  # (repo, path) of every file fetched
        self.calls: list[tuple[str, str | None, list[str] | None]] = []

    def repo(self, repo_id: str) -> Path:
        """The repository's contents on the (pretend) hub."""
        return self.remote / repo_id

    def snapshot(self, repo_id: str) -> Path:
        return self.cache / repo_id / "snapshots" / COMMIT

    def _files(self, repo_id: str) -> list[str]:
        root = self.repo(repo_id)
        if not root.is_dir():
            raise OSError(f"404 Client Error: Repository Not Found for {repo_id}")
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    def list_repo_files(self, repo_id, *, revision=None, repo_type=None, token=None):
        if not self.online:
            raise ConnectionError("offline mode is enabled")
        return self._files(repo_id)

    def snapshot_download(self, repo_id, *, revision=None, allow_patterns=None, ignore_patterns=None,
                          local_files_only=False, **kwargs):  # fmt: skip
        self.calls.append((repo_id, revision, allow_patterns))
        snapshot = self.snapshot(repo_id)
        if local_files_only or not self.online:
            if snapshot.is_dir():
                return str(snapshot)
            raise FileNotFoundError(f"{repo_id} is not in the cache and outgoing traffic is disabled")
        chosen = filter_repo_objects(
            self._files(repo_id), allow_patterns=allow_patterns, ignore_patterns=ignore_patterns
        )
        for path in chosen:
            target = snapshot / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.repo(repo_id) / path, target)
            self.downloaded.append((repo_id, path))
        snapshot.mkdir(parents=True, exist_ok=True)
        return str(snapshot)

    def api(self, token=None):
        hub = self

        class Api:
            def list_repo_files(self, repo_id, **kwargs):
                return hub.list_repo_files(repo_id, **kwargs)

            def create_repo(self, repo_id, *, private=False, exist_ok=False):
                hub.repo(repo_id).mkdir(parents=True, exist_ok=exist_ok)

            def upload_folder(self, *, repo_id, folder_path, commit_message=None):
                shutil.copytree(folder_path, hub.repo(repo_id), dirs_exist_ok=True)
                return type("Commit", (), {"commit_url": f"https://hub.test/{repo_id}/commit/1"})()

        return Api()

    def install(self, monkeypatch) -> FakeHub:
        monkeypatch.setattr(huggingface_hub, "snapshot_download", self.snapshot_download)
        monkeypatch.setattr(huggingface_hub, "HfApi", self.api)
        return self
