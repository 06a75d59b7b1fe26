"""`/workspaces` and `/events`: create, read, delete, restart, plugins, the event log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from reference.config import StackConfig
from reference.controlplane.errors import ProvisionRefused
from reference.controlplane.http import error
from reference.controlplane.templates import (
    collect_cp_config_files,
    resolve_workspace_template_path,
)
from reference.platform.catalog import TemplateCatalog
from reference.platform.lifecycle import Lifecycle
from reference.platform.plugins import PluginError, load_plugin_files, parse_source
from reference.platform.store import Store, Workspace


class WorkspaceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    template: str = Field(min_length=1, max_length=200)
    runtime: str | None = Field(default=None, min_length=1, max_length=100)
    tier: int | None = Field(default=None, ge=0, le=10)


class PluginInstall(BaseModel):
    source: str = Field(min_length=1, max_length=300)


def workspaces_router(
    config: StackConfig, store: Store, lifecycle: Lifecycle, catalog: TemplateCatalog
) -> APIRouter:
    router = APIRouter(tags=["workspaces"])

    def workspace_or_404(ws_id: str) -> Workspace:
        ws = store.workspace(ws_id)
        if ws is None:
            raise error(404, f"workspace {ws_id} not found")
        return ws

    @router.post("/workspaces", status_code=201)
    def create_workspace(body: WorkspaceCreate) -> dict[str, Any]:
        try:
            name, runtime = catalog.lookup(body.template)
        except ProvisionRefused as exc:
            raise error(422, exc.message) from exc
        # Pre-flight: refuse now (and create nothing) what the CP would refuse later.
        path = resolve_workspace_template_path(name, config.template_roots)
        collect_cp_config_files(path, name)
        if store.name_taken(body.name):
            raise error(409, f"a workspace named {body.name!r} already exists")
        ws = lifecycle.create(
            name=body.name,
            template=name,
            runtime=body.runtime or runtime,
            tier=body.tier if body.tier is not None else 1,
        )
        return {"id": ws.id, "status": ws.status, "name": ws.name, "template": name}

    @router.get("/workspaces")
    def list_workspaces() -> list[dict[str, Any]]:
        return [ws.public() for ws in store.workspaces()]

    @router.get("/workspaces/{workspace_id}")
    def get_workspace(workspace_id: str) -> dict[str, Any]:
        return workspace_or_404(workspace_id).public()

    @router.delete("/workspaces/{workspace_id}")
    def delete_workspace(
        workspace_id: str, confirm: str | None = Query(default=None)
    ) -> dict[str, Any]:
        """Synchronous: when it answers, the box, its secret and its volume are gone."""
        workspace_or_404(workspace_id)
        if confirm != "true":
            raise error(400, "deleting a workspace needs ?confirm=true")
        lifecycle.delete(workspace_id)
        return {"status": "removed", "id": workspace_id}

    @router.post("/workspaces/{workspace_id}/restart")
    def restart_workspace(workspace_id: str) -> dict[str, Any]:
        workspace_or_404(workspace_id)
        ws = lifecycle.restart(workspace_id, "manual")
        return {"status": "provisioning", "restart_pending": bool(ws.pending_reasons)}

    @router.post("/workspaces/{workspace_id}/plugins")
    def install_plugin(workspace_id: str, body: PluginInstall) -> dict[str, Any]:
        ws = workspace_or_404(workspace_id)
        if ws.status == "removed":
            raise error(409, f"workspace {workspace_id} is removed")
        try:
            name = parse_source(body.source)
            load_plugin_files(config.plugins_root, name)
        except PluginError as exc:
            raise error(422, str(exc)) from exc
        lifecycle.install_plugin(workspace_id, name, body.source)
        return {"status": "installed", "plugin": name, "source": body.source}

    @router.get("/workspaces/{workspace_id}/plugins")
    def list_plugins(workspace_id: str) -> list[dict[str, Any]]:
        workspace_or_404(workspace_id)
        return [
            {"name": p["name"], "source": p["source"], "installed_at": p["installed_at"]}
            for p in store.plugins(workspace_id)
        ]

    @router.get("/events/{workspace_id}")
    def list_events(workspace_id: str, since: int = Query(default=0, ge=0)) -> list[dict[str, Any]]:
        workspace_or_404(workspace_id)
        return store.events(workspace_id, since)

    return router
