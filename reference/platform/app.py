"""The reference workspace platform: `build_app(config)` is the entry point.

It answers what the product's tenant answers (PRODUCT-API.md in docs/design.md's words): the
tenant guard and rate limit before any route, then templates, workspaces, events, plugins,
files and the box registry. It reaches the control plane over HTTP at `platform_url + /cp`
(the stack mounts the CP app there) and boxes over SSM; the app's lifespan starts and stops
the lifecycle's workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from reference import faults
from reference.common.aws_clients import make_client
from reference.common.web import install_error_handlers
from reference.config import REPO_ROOT, StackConfig
from reference.platform.api_files import files_router
from reference.platform.api_plugins import plugins_router
from reference.platform.api_registry import registry_router
from reference.platform.api_templates import templates_router
from reference.platform.api_workspaces import workspaces_router
from reference.platform.boxes import Boxes
from reference.platform.cp_client import CpClient
from reference.platform.cycles import Cycles
from reference.platform.guard import BodyLimit, Flaky5xx, RateLimit, TenantGuard
from reference.platform.jobs import Jobs
from reference.platform.lifecycle import Lifecycle
from reference.platform.liveness import Liveness
from reference.platform.reconcile import Reconciler
from reference.platform.store import Store
from reference.platform.watchers import Watchers

MAX_BODY_BYTES = 64 * 1024 * 1024
# Sync handlers run in anyio's thread pool (40 by default). A register may wait for its
# workspace's provision; a burst of those must not starve heartbeats of threads.
HANDLER_THREADS = 256


def git_sha(repo: Path = REPO_ROOT) -> str:
    """What /buildinfo answers: REFERENCE_GIT_SHA, else this checkout's HEAD, else "dev"."""
    if os.environ.get("REFERENCE_GIT_SHA"):
        return os.environ["REFERENCE_GIT_SHA"]
    try:
        head = (repo / ".git" / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            return (repo / ".git" / head[5:]).read_text().strip()
        return head
    except OSError:
        return "dev"


@dataclass
class Platform:
    """One tenant's platform: its app, and its workers' start and stop (the app's lifespan
    calls them; a tenant made at run time by the control plane calls them itself)."""

    app: FastAPI
    start: Callable[[], None]
    stop: Callable[[], None]


def build_app(config: StackConfig, clock: Any = time.monotonic) -> FastAPI:
    """The platform app; its workers run for the lifespan of the app."""
    platform = build_platform(config, clock)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = HANDLER_THREADS
        platform.start()
        try:
            yield
        finally:
            platform.stop()

    platform.app.router.lifespan_context = lifespan
    return platform.app


def build_platform(config: StackConfig, clock: Any = time.monotonic) -> Platform:
    store = Store(config.db_path)
    cp = CpClient(config.control_plane_url, config.cp_secret)
    boxes = Boxes(config, make_client("ssm", config))
    jobs = Jobs()
    liveness = Liveness(config.timings.liveness_ttl_s, clock)
    cycles = Cycles(config, store, cp, jobs, liveness, clock)
    reconciler = Reconciler(config, store, boxes, cycles, jobs)
    lifecycle = Lifecycle(config, store, cycles, reconciler, boxes, jobs, liveness, clock)
    watchers = Watchers(config, store, lifecycle, cycles, liveness, clock)
    sha = git_sha()

    def start() -> None:
        lifecycle.resume()
        watchers.start()

    def stop() -> None:
        watchers.stop()
        jobs.stop()
        cp.close()
        store.close()

    app = FastAPI(
        title="reference workspace platform",
        version="1",
        description="The tenant API of the product, as the reference provisioner serves it.",
    )
    app.state.lifecycle = lifecycle
    app.state.store = store
    app.state.cp = cp
    install_error_handlers(app, invalid_body="invalid workspace payload")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/buildinfo")
    def buildinfo() -> dict[str, str]:
        return {"git_sha": sha}

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> str:
        active = store.workspaces()
        return f"molecule_workspaces {len(active)}\n"

    app.include_router(templates_router(config))
    app.include_router(workspaces_router(config, store, lifecycle))
    app.include_router(plugins_router(config, store, lifecycle))
    app.include_router(files_router(config, store, boxes))
    app.include_router(registry_router(config, store, lifecycle))

    if faults.is_on(config.faults, faults.PLATFORM_5XX):
        app.add_middleware(Flaky5xx)
    app.add_middleware(TenantGuard, org_id=config.org_id)
    app.add_middleware(
        RateLimit, limit=config.rate_limit, window_s=config.timings.rate_window_s, clock=clock
    )
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    return Platform(app, start, stop)
