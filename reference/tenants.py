"""The stack's tenants, and the one ASGI app that serves them all on the stack's port.

The stack's own tenant answers at the root (`platform_url`); a tenant made through the control
plane's org admin API (`POST /cp/admin/orgs`, as the product's staging e2e makes one per run)
answers under `/tenants/<slug>` with its own org id, admin token, state and workers; `/cp/...`
is the control plane. Deleting a tenant stops its workers and removes every box, secret and
volume made for it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from reference.config import FIXTURE_TEMPLATES, StackConfig
from reference.platform.app import Platform, build_platform

log = logging.getLogger(__name__)

PREFIX = "/tenants/"


@dataclass
class Tenant:
    slug: str
    name: str
    config: StackConfig
    status: str = "provisioning"
    platform: Platform | None = None
    last_error: str = ""
    created_at: str = field(
        default_factory=lambda: (
            datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        )
    )

    def row(self) -> dict[str, Any]:
        return {
            "id": self.config.org_id,
            "slug": self.slug,
            "name": self.name,
            "plan": "free",
            "member_count": 1,
            "instance_status": self.status,
            "last_error": self.last_error,
            "created_at": self.created_at,
        }


class Tenants:
    """The control plane's `Orgs`, and the router in front of every tenant's platform."""

    def __init__(self, config: StackConfig, purge: Callable[[str, str], Any]) -> None:
        self.config = config
        self._purge = purge  # (slug, org id) → removes its boxes, secrets and volumes
        self._lock = threading.Lock()
        self._tenants: dict[str, Tenant] = {}
        self.cp_app: Any = None
        self.default_app: Any = None

    # -- the control plane's view (reference/controlplane/admin.py) ----------------------------
    def slug_of(self, org_id: str) -> str:
        with self._lock:
            for tenant in self._tenants.values():
                if tenant.config.org_id == org_id:
                    return tenant.slug
        return self.config.tenant_slug

    def create(self, slug: str, name: str) -> dict[str, Any]:
        base = self.config.platform_url.rstrip("/")
        config = replace(
            self.config,
            state_dir=self.config.state_dir / "tenants" / slug,
            org_id=str(uuid.uuid4()),
            admin_token="adm-" + secrets.token_hex(16),
            tenant_slug=slug,
            platform_url=f"{base}{PREFIX}{slug}",
            cp_url=self.config.control_plane_url,
        )
        config.template_roots = [config.imported_templates_dir, FIXTURE_TEMPLATES]
        tenant = Tenant(slug, name, config)
        with self._lock:
            self._tenants[slug] = tenant
        threading.Thread(target=self._start, args=(tenant,), name=f"tenant-{slug}").start()
        return {**tenant.row(), "id": config.org_id}

    def _start(self, tenant: Tenant) -> None:
        try:
            tenant.platform = build_platform(tenant.config)
            tenant.platform.start()
            tenant.status = "running"
        except Exception as exc:
            log.exception("tenant %s did not start", tenant.slug)
            tenant.status, tenant.last_error = "failed", str(exc)

    def rows(self) -> list[dict[str, Any]]:
        own = {
            "id": self.config.org_id,
            "slug": self.config.tenant_slug,
            "name": self.config.tenant_slug,
            "plan": "free",
            "member_count": 1,
            "instance_status": "running",
            "last_error": "",
            "created_at": "",
        }
        with self._lock:
            return [own, *(t.row() for t in self._tenants.values())]

    def admin_token(self, slug: str) -> str | None:
        if slug == self.config.tenant_slug:
            return self.config.admin_token
        with self._lock:
            tenant = self._tenants.get(slug)
        return tenant.config.admin_token if tenant else None

    def delete(self, slug: str) -> bool:
        with self._lock:
            tenant = self._tenants.pop(slug, None)
        if tenant is None:
            return False
        if tenant.platform is not None:
            tenant.platform.stop()
        self._purge(slug, tenant.config.org_id)
        return True

    def stop(self) -> None:
        with self._lock:
            tenants, self._tenants = list(self._tenants.values()), {}
        for tenant in tenants:
            if tenant.platform is not None:
                tenant.platform.stop()

    # -- one port for all ---------------------------------------------------------------------
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == "/cp" or path.startswith("/cp/")):
            await self.cp_app(_strip(scope, "/cp"), receive, send)
            return
        if scope["type"] == "http" and path.startswith(PREFIX):
            slug = path[len(PREFIX) :].split("/", 1)[0]
            with self._lock:
                tenant = self._tenants.get(slug)
            if tenant is not None and tenant.platform is not None:
                await tenant.platform.app(_strip(scope, PREFIX + slug), receive, send)
                return
        await self.default_app(scope, receive, send)


def _strip(scope: Any, prefix: str) -> Any:
    root = scope.get("root_path", "") + prefix
    return {**scope, "path": scope["path"][len(prefix) :] or "/", "root_path": root}
