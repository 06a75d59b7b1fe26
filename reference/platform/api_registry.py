"""`/registry/*`: what boxes say to the platform, authenticated by the workspace token.

`register` and `heartbeat` are the product's (exempt from the tenant guard); `boot-failed` and
the plugin bundle a booting box fetches are the reference's stand-ins for the product's
bootstrap watcher and its boot-time plugin install, and need the org header like any route.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from reference.common.web import bearer_token, error
from reference.config import StackConfig
from reference.platform.lifecycle import Conflict, Lifecycle
from reference.platform.plugins import PluginError, bundle_json, load_bundle
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
            raise error(401, "missing workspace auth token")
        ws = store.workspace(ws_id)
        if ws is None:
            raise error(404, "workspace not found")
        if not hmac.compare_digest(token.encode(), ws.token.encode()):
            raise error(401, "invalid workspace auth token")
        return ws

    def conflict(exc: Conflict) -> Exception:
        return error(409, str(exc))

    @router.post("/registry/register")
    def register(request: Request, body: Register) -> dict[str, Any]:
        box_workspace(request, body.id)
        try:
            ws = lifecycle.register(body.id, body.instance_id, body.url, body.agent_card)
        except Conflict as exc:
            raise conflict(exc) from exc
        return {"status": ws.status}

    @router.post("/registry/heartbeat")
    def heartbeat(request: Request, body: Heartbeat) -> dict[str, Any]:
        box_workspace(request, body.workspace_id)
        try:
            ws = lifecycle.heartbeat(body.workspace_id, body.instance_id)
        except Conflict as exc:
            raise conflict(exc) from exc
        return {"status": ws.status}

    @router.post("/registry/boot-failed")
    def boot_failed(request: Request, body: BootFailed) -> dict[str, Any]:
        box_workspace(request, body.workspace_id)
        try:
            lifecycle.boot_failed(body.workspace_id, body.instance_id, body.error)
        except Conflict as exc:
            raise conflict(exc) from exc
        return {"status": "failed"}

    @router.get("/registry/workspaces/{workspace_id}/plugins/{name}")
    def plugin_bundle(request: Request, workspace_id: str, name: str) -> dict[str, Any]:
        """One plugin of the box's MOLECULE_DECLARED_PLUGINS, for its boot-time install."""
        box_workspace(request, workspace_id)
        try:
            files = load_bundle(config.plugins_root, name)
        except PluginError as exc:
            raise error(exc.status, exc.message) from exc
        installed = {p["name"]: p["source"] for p in store.plugins(workspace_id)}
        return bundle_json(name, installed.get(name, f"local://{name}"), files)

    return router
