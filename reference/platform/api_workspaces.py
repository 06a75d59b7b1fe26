"""`/workspaces` and `/events`: create, read, delete, restart, model, the event log."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from reference.common.web import error
from reference.config import StackConfig
from reference.platform.auth import admin_auth, workspace_auth
from reference.platform.creation import CreateBody, plan
from reference.platform.lifecycle import Lifecycle
from reference.platform.store import Store, Workspace
from reference.platform.templates import TemplateError, resolve_workspace_template_path
from reference.platform.views import list_row, one_row


def _valid_id(workspace_id: str) -> str:
    try:
        uuid.UUID(workspace_id)
    except ValueError:
        raise error(400, "invalid workspace ID") from None
    return workspace_id


def _removed(ws: Workspace, **fields: Any) -> JSONResponse:
    return JSONResponse({"error": "workspace removed", "id": ws.id, **fields}, status_code=410)


def workspaces_router(config: StackConfig, store: Store, lifecycle: Lifecycle) -> APIRouter:
    router = APIRouter(tags=["workspaces"])
    admin = [Depends(admin_auth(config))]
    own = [Depends(workspace_auth(config, store))]

    def existing(workspace_id: str) -> Workspace:
        ws = store.workspace(_valid_id(workspace_id))
        if ws is None:
            raise error(404, "workspace not found")
        return ws

    @router.post("/workspaces", status_code=201, dependencies=admin)
    def create_workspace(body: CreateBody) -> dict[str, Any]:
        ws = lifecycle.create(**plan(config, store, body))
        return {
            "id": ws.id,
            "status": "provisioning",
            "workspace_access": "none",
            "auth_token": ws.token,
        }

    @router.get("/workspaces", dependencies=admin)
    def list_workspaces() -> list[dict[str, Any]]:
        return [list_row(ws) for ws in store.workspaces()]

    @router.get("/workspaces/{workspace_id}", response_model=None)
    def get_workspace(
        workspace_id: str, include_removed: bool = Query(default=False)
    ) -> dict[str, Any] | JSONResponse:
        ws = existing(workspace_id)
        if ws.status == "removed" and not include_removed:
            return _removed(
                ws,
                hint="Regenerate workspace + token from the canvas → Tokens tab",
                removed_at=ws.updated_at,
            )
        return one_row(ws)

    @router.get("/workspaces/{workspace_id}/model", dependencies=own)
    def get_model(workspace_id: str) -> dict[str, str]:
        ws = existing(workspace_id)
        return {"model": ws.model, "source": "workspace_secrets" if ws.model else "unresolved"}

    @router.delete("/workspaces/{workspace_id}", dependencies=admin, response_model=None)
    def delete_workspace(
        workspace_id: str,
        confirm: bool = Query(default=False),
        erase_data: bool = Query(default=False),
        confirm_name: str | None = Header(default=None, alias="X-Confirm-Name"),
    ) -> dict[str, Any] | JSONResponse:
        ws = existing(workspace_id)
        if ws.status == "removed":
            return _removed(ws)
        children = [c for c in store.workspaces() if c.parent_id == ws.id]
        if confirm_name != ws.name:
            raise error(
                400,
                "destructive_action_requires_confirmation",
                hint=f"Re-send the same request with header X-Confirm-Name: {ws.name}",
                workspace_name=ws.name,
                active_tasks=0,
                child_count=len(children),
                schedule_count=0,
            )
        if children and not confirm:
            return JSONResponse(
                {
                    "status": "confirmation_required",
                    "message": f"workspace {ws.name!r} has {len(children)} child workspace(s); "
                    "re-send with ?confirm=true to delete them too",
                    "children": [{"id": c.id, "name": c.name} for c in children],
                    "children_count": len(children),
                },
                status_code=409,
            )
        descendants = _descendants(store, ws.id)
        failures = lifecycle.delete(ws, descendants, prune=erase_data)
        if failures:
            raise error(
                500,
                f"workspace marked removed, but {len(failures)} stop call(s) failed — please "
                f"retry: {'; '.join(failures)}",
                removed_count=len(descendants) + 1,
                stop_failures=failures,
            )
        return {"status": "removed", "cascade_deleted": len(descendants)}

    @router.post("/workspaces/{workspace_id}/restart", dependencies=own)
    async def restart_workspace(workspace_id: str, request: Request) -> dict[str, Any]:
        ws = existing(workspace_id)
        if ws.status == "removed":
            raise error(404, "workspace not found")
        raw = await request.body()
        try:
            body = (await request.json()) if raw.strip() else {}
        except ValueError:
            raise error(400, "invalid JSON body") from None
        template = str(body.get("template") or "") if isinstance(body, dict) else ""
        if template:
            try:
                if resolve_workspace_template_path(template, config.template_roots) is None:
                    template = ""
            except TemplateError:
                template = ""
        lifecycle.restart(ws, template or None)
        return {
            "status": "provisioning",
            "config_dir": template or "existing-volume",
            "reset_session": bool(isinstance(body, dict) and body.get("reset")),
        }

    @router.get("/events/{workspace_id}", dependencies=admin, response_class=Response)
    def list_events(workspace_id: str) -> Response:
        return Response(store.events_json(workspace_id), media_type="application/json")

    return router


def _descendants(store: Store, ws_id: str) -> list[Workspace]:
    active = store.workspaces()
    found: list[Workspace] = []
    frontier = [ws_id]
    while frontier:
        children = [w for w in active if w.parent_id in frontier]
        found += children
        frontier = [w.id for w in children]
    return found
