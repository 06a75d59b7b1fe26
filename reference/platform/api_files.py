"""The product's files API (handlers/templates.go): a second, independent way to read a box.

`GET /workspaces/:id/files?root=&path=&depth=` lists `{path, size, dir}` relative to root+path;
`GET /workspaces/:id/files/<path>?root=` answers `{path, content, size}` — content as text,
invalid UTF-8 replaced (Go's JSON encoder), size the byte length before encoding.
"""

from __future__ import annotations

import posixpath
from typing import Any

from fastapi import APIRouter, Depends, Query

from reference.common.web import error
from reference.config import StackConfig
from reference.platform.auth import workspace_auth
from reference.platform.boxes import BoxError, Boxes
from reference.platform.store import Store

ROOTS = ("/configs", "/workspace", "/home", "/plugins", "/agent-home")
ROOT_ON_BOX = {
    "/configs": "/configs",
    "/workspace": "/workspace",
    "/home": "/root",
    "/plugins": "/configs/plugins",
}


def _valid_rel(path: str) -> bool:
    return bool(path) and path != "." and not path.startswith("/") and ".." not in path


def files_router(config: StackConfig, store: Store, boxes: Boxes) -> APIRouter:
    router = APIRouter(tags=["files"])
    own = [Depends(workspace_auth(config, store))]

    def box_dir(workspace_id: str, root: str, path: str) -> tuple[str, str]:
        ws = store.workspace(workspace_id)
        if ws is None:
            raise error(404, "workspace not found")
        if root not in ROOTS:
            raise error(400, "root must be one of: " + ", ".join(ROOTS))
        if root == "/agent-home":
            raise error(501, "root /agent-home is not supported on this runtime")
        if path and not _valid_rel(path):
            raise error(400, "invalid path")
        base = ROOT_ON_BOX[root]
        return ws.instance_id, posixpath.join(base, path) if path else base

    @router.get("/workspaces/{workspace_id}/files", dependencies=own)
    def list_files(
        workspace_id: str,
        root: str = Query(default="/configs"),
        path: str = Query(default=""),
        depth: int = Query(default=1),
    ) -> list[dict[str, Any]]:
        if not 1 <= depth <= 5:
            raise error(400, "depth must be 1-5")
        instance_id, directory = box_dir(workspace_id, root, path)
        if not instance_id:
            return []  # the product lists the tenant's template dir by name here: none matches
        try:
            return boxes.list_files(instance_id, directory, depth)
        except BoxError as exc:
            raise error(500, f"failed to list files: {exc}") from exc

    @router.get("/workspaces/{workspace_id}/files/{file_path:path}", dependencies=own)
    def read_file(
        workspace_id: str, file_path: str, root: str = Query(default="/configs")
    ) -> dict[str, Any]:
        if not _valid_rel(file_path):
            raise error(400, "invalid path")
        instance_id, target = box_dir(workspace_id, root, file_path)
        try:
            data = boxes.read_file(instance_id, target) if instance_id else None
        except BoxError as exc:
            raise error(500, f"failed to read file: {exc}") from exc
        if data is None:
            raise error(404, "file not found on workspace")
        return {
            "path": file_path,
            "content": data.decode("utf-8", errors="replace"),
            "size": len(data),
        }

    return router
