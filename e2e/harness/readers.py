"""Two independent ways to read a box, behind one interface (testinfra's backend idea):

- `SsmReader`: paged manifests and whole files over SSM Run Command (manifest.py, files.py);
- `FilesApiReader`: the product's own files API (`GET /workspaces/:id/files…`), which the
  product's own delivery gate reads through. It answers text, so a file's bytes are its
  content encoded as UTF-8 — exact for UTF-8 files; `size` is the true byte count either way.

`E2E_BOX_CHANNEL=ssm|files|both` picks one, or both to cross-check them.
"""

from __future__ import annotations

import posixpath
from typing import Protocol

from e2e.harness.files import read_file
from e2e.harness.manifest import Entry, Manifest, entry_for_bytes, read_manifest
from e2e.harness.platform import PlatformClient
from e2e.harness.ssm import CommandResult

FILES_API_MAX_DEPTH = 5


class Host(Protocol):
    """One box, reached by some transport: what every box-side helper needs."""

    instance_id: str

    def run(
        self, script: str, *, check: bool = True, timeout_s: float | None = None
    ) -> CommandResult: ...


class BoxReader(Protocol):
    channel: str

    def manifest(self, root: str) -> Manifest: ...

    def read(self, path: str) -> bytes | None: ...


class SsmReader:
    channel = "ssm"

    def __init__(self, host: Host) -> None:
        self.host = host

    def manifest(self, root: str) -> Manifest:
        return read_manifest(self.host, root)

    def read(self, path: str) -> bytes | None:
        return read_file(self.host, path)


class FilesApiReader:
    channel = "files"

    def __init__(self, platform: PlatformClient, workspace_id: str) -> None:
        self.platform = platform
        self.workspace_id = workspace_id

    def manifest(self, root: str) -> Manifest:
        """Every file under `root`, listed (directories at the depth limit listed again from
        there) and then read, to hash it."""
        manifest = Manifest(root)
        pending = [""]
        while pending:
            base = pending.pop()
            for item in self.platform.list_files(
                self.workspace_id, root, base, FILES_API_MAX_DEPTH
            ):
                rel = posixpath.join(base, item.path) if base else item.path
                if item.dir:
                    if item.path.count("/") + 1 >= FILES_API_MAX_DEPTH:
                        pending.append(rel)
                    continue
                manifest.entries[rel] = self._entry(root, rel, item.size)
        return manifest

    def _entry(self, root: str, rel: str, size: int) -> Entry:
        content = self.platform.read_file(self.workspace_id, rel, root)
        if content is None:  # listed, then gone: the tree changed while being read
            return Entry(rel, size, "0" * 64)
        entry = entry_for_bytes(rel, content.content.encode("utf-8"))
        return Entry(rel, content.size, entry.sha256)

    def read(self, path: str) -> bytes | None:
        root, rel = (
            ("/workspace", path[len("/workspace/") :])
            if path.startswith("/workspace/")
            else ("/configs", path[len("/configs/") :])
        )
        content = self.platform.read_file(self.workspace_id, rel, root)
        return content.content.encode("utf-8") if content is not None else None
