"""The product's files API over local directories, as an httpx.MockTransport handler
(PRODUCT-API "The box"; the product's handlers/templates.go as the reference imitates it):

- `GET /workspaces/:id/files?root=&path=&depth=1..5` → `[{path, size, dir}]`, every entry down
  to `depth` levels below root+path (`find -mindepth 1 -maxdepth depth`), paths relative to
  root+path; 400 for a depth outside 1..5;
- `GET /workspaces/:id/files/<path>?root=` → `{path, content, size}`: content as text (invalid
  UTF-8 replaced, as Go's JSON encoder does), size the byte length; 404 when absent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class FilesApi:
    workspace_id: str
    roots: dict[str, Path]  # "/configs" → a local directory
    listings: list[tuple[str, str, int]] = field(default_factory=list)  # root, path, depth
    reads: list[tuple[str, str]] = field(default_factory=list)  # root, path

    def handler(self, request: httpx.Request) -> httpx.Response:
        prefix = f"/workspaces/{self.workspace_id}/files"
        path = request.url.path
        root = request.url.params.get("root", "/configs")
        if root not in self.roots:
            return httpx.Response(400, json={"error": f"root {root!r}"})
        if path == prefix:
            depth = int(request.url.params.get("depth", "1"))
            sub = request.url.params.get("path", "")
            if not 1 <= depth <= 5:
                return httpx.Response(400, json={"error": "depth must be 1-5"})
            self.listings.append((root, sub, depth))
            return httpx.Response(200, json=self._list(self.roots[root] / sub, depth))
        if path.startswith(prefix + "/"):
            rel = path[len(prefix) + 1 :]
            self.reads.append((root, rel))
            target = self.roots[root] / rel
            if not target.is_file():
                return httpx.Response(404, json={"error": "file not found on workspace"})
            data = target.read_bytes()
            body = {"path": rel, "content": data.decode("utf-8", "replace"), "size": len(data)}
            return httpx.Response(200, json=body)
        return httpx.Response(404, json={"error": f"no route {path}"})

    @staticmethod
    def _list(directory: Path, depth: int) -> list[dict[str, object]]:
        if not directory.is_dir():
            return []
        out: list[dict[str, object]] = []
        for dirpath, dirnames, filenames in os.walk(directory):
            here = Path(dirpath)
            level = len(here.relative_to(directory).parts) + 1
            for name in sorted(dirnames):
                rel = (here / name).relative_to(directory).as_posix()
                out.append({"path": rel, "size": 0, "dir": True})
            for name in sorted(filenames):
                item = here / name
                rel = item.relative_to(directory).as_posix()
                out.append({"path": rel, "size": item.lstat().st_size, "dir": False})
            if level >= depth:
                dirnames[:] = []  # find -maxdepth: nothing below this level
        return out
