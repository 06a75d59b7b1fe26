"""`/workspaces/:id/plugins`: install (push to the running box, then an automatic restart) and
the listing, which on SaaS is always `[]` (handlers/plugins_listing.go looks for a local Docker
container only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from reference.common.web import error
from reference.config import StackConfig
from reference.platform.auth import workspace_auth
from reference.platform.lifecycle import Lifecycle, Unreachable
from reference.platform.plugins import PluginError, install_name, plugin_dir
from reference.platform.store import Store


class PluginInstall(BaseModel):
    model_config = ConfigDict(extra="allow")

    source: str = ""


def plugins_router(config: StackConfig, store: Store, lifecycle: Lifecycle) -> APIRouter:
    router = APIRouter(tags=["plugins"])
    own = [Depends(workspace_auth(config, store))]

    @router.post("/workspaces/{workspace_id}/plugins", dependencies=own, response_model=None)
    def install_plugin(workspace_id: str, body: PluginInstall) -> dict[str, Any] | JSONResponse:
        ws = store.workspace(workspace_id)
        if ws is None or ws.status == "removed":
            raise error(404, "workspace not found")
        try:
            name = install_name(body.source)
            plugin_dir(config.plugins_root, name)
        except PluginError as exc:
            return JSONResponse({"error": exc.message, **exc.fields}, status_code=exc.status)
        try:
            lifecycle.install_plugin(ws, name, body.source)
        except Unreachable as exc:
            return JSONResponse(exc.body, status_code=exc.status)
        return {"status": "installed", "plugin": name, "source": body.source}

    @router.get("/workspaces/{workspace_id}/plugins", dependencies=own)
    def list_plugins(workspace_id: str) -> list[dict[str, Any]]:
        if config.backend == "saas":
            return []
        return [{"name": p["name"], "source": p["source"]} for p in store.plugins(workspace_id)]

    return router
