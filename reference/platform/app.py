"""The reference workspace platform (DESIGN §3): `build_app(config)` is the entry point.

The control plane is mounted under `/cp` of the same server and called over HTTP at
`config.platform_url + "/cp"`; the app's lifespan starts and stops the lifecycle workers.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from reference import faults
from reference.config import StackConfig
from reference.controlplane.app import build_cp_app
from reference.controlplane.errors import ProvisionRefused
from reference.controlplane.http import bearer_token, error, install_error_handlers
from reference.controlplane.templates import (
    collect_cp_config_files,
    resolve_workspace_template_path,
)
from reference.platform.auth import AdminAuth, BodyLimit, Flaky5xx
from reference.platform.cp_client import CpClient, CpError
from reference.platform.lifecycle import Conflict, Lifecycle, NotFound
from reference.platform.plugins import PluginError, load_plugin_files, parse_source
from reference.platform.store import Store, Workspace
from reference.platform.template_import import (
    DEFAULT_RUNTIME,
    ImportRefused,
    normalise_name,
    runtime_of,
    validate_files,
    write_template,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024 * 1024


class TemplateImport(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    files: dict[str, str]


class WorkspaceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    template: str = Field(min_length=1, max_length=200)
    runtime: str | None = Field(default=None, min_length=1, max_length=100)
    tier: int | None = Field(default=None, ge=0, le=10)


class PluginInstall(BaseModel):
    source: str = Field(min_length=1, max_length=300)


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


def build_app(config: StackConfig) -> FastAPI:
    """The platform app with the CP mounted at /cp; workers run for the lifespan of the app."""
    store = Store(config.db_path)
    cp = CpClient(config.platform_url.rstrip("/") + "/cp", config.cp_secret)
    lifecycle = Lifecycle(config, store, cp)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Sync handlers run in anyio's thread pool (40 by default). A register waits for its
        # workspace's provision job; a burst of those must not starve heartbeats of threads.
        anyio.to_thread.current_default_thread_limiter().total_tokens = 256
        lifecycle.start()
        try:
            yield
        finally:
            lifecycle.stop()
            cp.close()
            store.close()

    app = FastAPI(
        title="reference workspace platform",
        version="1",
        lifespan=lifespan,
        description="The platform contract of DESIGN §3, as the reference provisioner serves it.",
    )
    app.state.lifecycle = lifecycle
    app.state.store = store
    install_error_handlers(app)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=404)

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=409)

    @app.exception_handler(ImportRefused)
    async def import_refused(_: Request, exc: ImportRefused) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(CpError)
    async def cp_failed(_: Request, exc: CpError) -> JSONResponse:
        return JSONResponse({"error": f"control plane: {exc.message}"}, status_code=502)

    # -- health ------------------------------------------------------------------------------
    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # -- templates ---------------------------------------------------------------------------
    def builtin_templates() -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        for root in config.template_roots:
            if root == config.imported_templates_dir or not root.is_dir():
                continue
            for path in sorted(root.iterdir()):
                if path.is_dir() and not path.name.startswith("."):
                    seen.append({"id": f"builtin:{path.name}", "name": path.name})
        return seen

    def builtin_runtime(name: str) -> str:
        """The `runtime:` of a builtin template's config.yaml (default when unreadable)."""
        try:
            path = resolve_workspace_template_path(name, config.template_roots)
            text = (path / "config.yaml").read_text(encoding="utf-8")
            return runtime_of(name, {"config.yaml": text})
        except (ProvisionRefused, OSError, UnicodeDecodeError, ImportRefused):
            return DEFAULT_RUNTIME

    def template_exists(name: str) -> bool:
        if store.template(name):
            return True
        try:
            resolve_workspace_template_path(name, config.template_roots)
        except ProvisionRefused:
            return False
        return True

    @app.post("/templates/import", status_code=201)
    def import_template(body: TemplateImport) -> dict[str, Any]:
        name = normalise_name(body.name)
        files = validate_files(name, body.files)
        runtime = runtime_of(name, files)
        if template_exists(name):
            raise error(409, f"template {name!r} already exists")
        try:
            write_template(config.imported_templates_dir, name, files)
        except FileExistsError as exc:
            raise error(409, f"template {name!r} already exists") from exc
        except OSError as exc:
            if (config.imported_templates_dir / name).exists():
                raise error(409, f"template {name!r} already exists") from exc
            raise
        row = store.add_template(name, runtime, len(files))
        return {"status": "imported", "id": row["id"], "name": name, "files": len(files)}

    @app.get("/templates")
    def list_templates() -> list[dict[str, Any]]:
        imported = [
            {
                "id": t["id"],
                "name": t["name"],
                "runtime": t["runtime"],
                "files": t["file_count"],
                "source": "imported",
                "created_at": t["created_at"],
            }
            for t in store.templates()
        ]
        names = {t["name"] for t in imported}
        builtin = []
        for t in builtin_templates():
            if t["name"] in names:
                continue
            names.add(t["name"])
            builtin.append({**t, "runtime": builtin_runtime(t["name"]), "source": "builtin"})
        return imported + builtin

    # -- workspaces --------------------------------------------------------------------------
    def workspace_or_404(ws_id: str) -> Workspace:
        ws = store.workspace(ws_id)
        if ws is None:
            raise error(404, f"workspace {ws_id} not found")
        return ws

    def template_name(ref: str) -> tuple[str, str]:
        """(name, runtime) of a template given by name or id; 422 if unknown."""
        row = store.template(ref)
        if row is None:
            try:
                row = store.template(normalise_name(ref))
            except ImportRefused:
                row = None
        if row:
            return str(row["name"]), str(row["runtime"])
        name = ref.removeprefix("builtin:")
        try:
            resolve_workspace_template_path(name, config.template_roots)
        except ProvisionRefused as exc:
            raise error(422, exc.message) from exc
        return name, builtin_runtime(name)

    @app.post("/workspaces", status_code=201)
    def create_workspace(body: WorkspaceCreate) -> dict[str, Any]:
        name, runtime = template_name(body.template)
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

    @app.get("/workspaces")
    def list_workspaces() -> list[dict[str, Any]]:
        return [ws.public() for ws in store.workspaces()]

    @app.get("/workspaces/{workspace_id}")
    def get_workspace(workspace_id: str) -> dict[str, Any]:
        return workspace_or_404(workspace_id).public()

    @app.delete("/workspaces/{workspace_id}")
    def delete_workspace(
        workspace_id: str, confirm: str | None = Query(default=None)
    ) -> dict[str, Any]:
        workspace_or_404(workspace_id)
        if confirm != "true":
            raise error(400, "deleting a workspace needs ?confirm=true")
        lifecycle.delete(workspace_id)
        return {"status": "removed", "id": workspace_id}

    @app.post("/workspaces/{workspace_id}/restart")
    def restart_workspace(workspace_id: str) -> dict[str, Any]:
        workspace_or_404(workspace_id)
        ws = lifecycle.restart(workspace_id, "manual")
        return {"status": "provisioning", "restart_pending": bool(ws.pending_reasons)}

    @app.post("/workspaces/{workspace_id}/plugins")
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

    @app.get("/workspaces/{workspace_id}/plugins")
    def list_plugins(workspace_id: str) -> list[dict[str, Any]]:
        workspace_or_404(workspace_id)
        return [
            {"name": p["name"], "source": p["source"], "installed_at": p["installed_at"]}
            for p in store.plugins(workspace_id)
        ]

    @app.get("/events/{workspace_id}")
    def list_events(workspace_id: str, since: int = Query(default=0, ge=0)) -> list[dict[str, Any]]:
        workspace_or_404(workspace_id)
        return store.events(workspace_id, since)

    # -- registry (box → platform) -----------------------------------------------------------
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

    @app.post("/registry/register")
    def register(request: Request, body: Register) -> dict[str, Any]:
        box_workspace(request, body.id)
        ws = lifecycle.register(body.id, body.instance_id, body.url, body.agent_card)
        return {"status": ws.status, "generation": ws.generation}

    @app.post("/registry/heartbeat")
    def heartbeat(request: Request, body: Heartbeat) -> dict[str, Any]:
        box_workspace(request, body.workspace_id)
        ws = lifecycle.heartbeat(body.workspace_id, body.instance_id)
        return {"status": ws.status}

    @app.post("/registry/boot-failed")
    def boot_failed(request: Request, body: BootFailed) -> dict[str, Any]:
        box_workspace(request, body.workspace_id)
        lifecycle.boot_failed(body.workspace_id, body.instance_id, body.error)
        return {"status": "failed"}

    @app.get("/registry/workspaces/{workspace_id}/plugins")
    def registry_plugins(request: Request, workspace_id: str) -> list[dict[str, Any]]:
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

    app.mount("/cp", build_cp_app(config))

    if faults.is_on(config.faults, faults.PLATFORM_5XX):
        app.add_middleware(Flaky5xx)
    app.add_middleware(AdminAuth, config=config)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    return app
