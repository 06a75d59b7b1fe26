"""The reference workspace platform (DESIGN §3): `build_app(config)` is the entry point.

The control plane is mounted under `/cp` of the same server and called over HTTP at
`config.platform_url + "/cp"`; the app's lifespan starts and stops the lifecycle workers.
Routes live in `api_templates`, `api_workspaces` and `api_registry`; auth and the
`platform-5xx` fault are ASGI middleware (`auth`), so they run before any body is parsed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from reference import faults
from reference.config import StackConfig
from reference.controlplane.app import build_cp_app
from reference.controlplane.http import install_error_handlers
from reference.platform.api_registry import registry_router
from reference.platform.api_templates import templates_router
from reference.platform.api_workspaces import workspaces_router
from reference.platform.auth import AdminAuth, BodyLimit, Flaky5xx
from reference.platform.catalog import TemplateCatalog
from reference.platform.cp_client import CpClient, CpError
from reference.platform.lifecycle import Conflict, Lifecycle, NotFound
from reference.platform.store import Store
from reference.platform.template_import import ImportRefused

MAX_BODY_BYTES = 64 * 1024 * 1024
# Sync handlers run in anyio's thread pool (40 by default). A register waits for its
# workspace's provision job; a burst of those must not starve heartbeats of threads.
HANDLER_THREADS = 256


def build_app(config: StackConfig) -> FastAPI:
    """The platform app with the CP mounted at /cp; workers run for the lifespan of the app."""
    store = Store(config.db_path)
    cp = CpClient(config.platform_url.rstrip("/") + "/cp", config.cp_secret)
    lifecycle = Lifecycle(config, store, cp)
    catalog = TemplateCatalog(config, store)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = HANDLER_THREADS
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

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(templates_router(config, store, catalog))
    app.include_router(workspaces_router(config, store, lifecycle, catalog))
    app.include_router(registry_router(config, store, lifecycle))
    app.mount("/cp", build_cp_app(config))

    if faults.is_on(config.faults, faults.PLATFORM_5XX):
        app.add_middleware(Flaky5xx)
    app.add_middleware(AdminAuth, config=config)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    return app
