"""`/registry/*`: what boxes say to the platform, authenticated by the workspace token."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from reference import faults
from reference.config import StackConfig
from reference.controlplane.http import bearer_token, error
from reference.platform.lifecycle import Lifecycle
from reference.platform.plugins import PluginError, load_plugin_files
from reference.platform.store import Store, Workspace


class Register(BaseModel):
    id: str = Field(min_length=1)
    instance_id: str = Field(min_length=1)
    url: str = ""
    agent_card: dict[str, Any] = Field(default_factory=dict)


class Heartbeat(BaseModel):
    workspace_id: str = Field(min_length=1)
    instance_id: str = Field(min_length=1)


class BootFailed(BaseModel):
    workspace_id: str = Field(min_length=1)
    instance_id: str = Field(min_length=1)
    error: str = Field(min_length=1, max_length=20000)


def registry_router(config: StackConfig, store: Store, lifecycle: Lifecycle) -> APIRouter:
    router = APIRouter(tags=["registry"])

    def box_workspace(request: Request, ws_id: str) -> Workspace:
        token = bearer_token(request)
        if token is None:
            raise error(401, "missing workspace token (Authorization: Bearer)")
        ws = store.workspace(ws_id)
        if ws is None:
            raise error(404, f"workspace {ws_id} not found")
        if not hmac.compare_digest(token.encode(), ws.token.encode()):
            raise error(401, f"wrong workspace token for workspace {ws_id}")
        return ws

    @router.post("/registry/register")
    def register(request: Request, body: Register) -> dict[str, Any]:
        box_workspace(request, body.id)
        ws = lifecycle.register(body.id, body.instance_id, body.url, body.agent_card)
        return {"status": ws.status, "generation": ws.generation}

    @router.post("/registry/heartbeat")
    def heartbeat(request: Request, body: Heartbeat) -> dict[str, Any]:
        box_workspace(request, body.workspace_id)
        ws = lifecycle.heartbeat(body.workspace_id, body.instance_id)
        return {"status": ws.status}

    @router.post("/registry/boot-failed")
    def boot_failed(request: Request, body: BootFailed) -> dict[str, Any]:
        box_workspace(request, body.workspace_id)
        lifecycle.boot_failed(body.workspace_id, body.instance_id, body.error)
        return {"status": "failed"}

    @router.get("/registry/workspaces/{workspace_id}/plugins")
    def registry_plugins(request: Request, workspace_id: str) -> list[dict[str, Any]]:
        """The whole installed set for the booting generation (the box mirrors it)."""
        ws = box_workspace(request, workspace_id)
        served = []
        lost = faults.is_on(config.faults, faults.PLUGIN_LOST)
        for plugin in store.plugins(workspace_id):
            if lost and ws.generation != plugin["installed_generation"] + 1:
                continue
            try:
                files = load_plugin_files(config.plugins_root, plugin["name"])
            except PluginError as exc:
                raise error(422, str(exc)) from exc
            served.append({"name": plugin["name"], "source": plugin["source"], "files": files})
        return served

    return router
