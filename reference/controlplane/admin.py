"""The control plane's org admin API, as the product's own staging e2e calls it:

- `POST /cp/admin/orgs {"slug","name","owner_user_id"}` → 201 `{"id","slug","name",
  "instance_status"}` (400 a slug that is not `^[a-z][a-z0-9-]{2,31}$`, 409 a taken one);
- `GET /cp/admin/orgs` → `{"orgs": [{id, slug, name, plan, member_count, instance_status,
  last_error, created_at}]}` — `instance_status` goes `provisioning` → `running` (or `failed`);
- `GET /cp/admin/orgs/<slug>/admin-token` → `{"admin_token"}`;
- `DELETE /cp/admin/tenants/<slug>` with `{"confirm": "<slug>"}` → the tenant and every box,
  secret and volume it made are gone when it answers.

A tenant is a platform of the reference stack: the stack passes in the `Orgs` that make and
remove them, so the control plane never builds a platform itself.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import Any, Protocol

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from reference.common.web import bearer_token, error

SLUG = re.compile(r"^[a-z][a-z0-9-]{2,31}$")


class Orgs(Protocol):
    def create(self, slug: str, name: str) -> dict[str, Any]: ...

    def rows(self) -> list[dict[str, Any]]: ...

    def admin_token(self, slug: str) -> str | None: ...

    def delete(self, slug: str) -> bool: ...


class OrgCreate(BaseModel):
    model_config = ConfigDict(extra="allow")

    slug: str = ""
    name: str = ""
    owner_user_id: str = ""


class TenantDelete(BaseModel):
    model_config = ConfigDict(extra="allow")

    confirm: str = ""


def admin_router(admin_token: str, orgs: Orgs) -> APIRouter:
    def require_admin(request: Request) -> None:
        token = bearer_token(request)
        if token is None or not hmac.compare_digest(token, admin_token):
            raise error(401, "control plane admin: missing or wrong token")

    router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])

    @router.post("/orgs", status_code=201)
    def create_org(body: OrgCreate) -> dict[str, Any]:
        if not SLUG.match(body.slug):
            raise error(400, f"invalid slug {body.slug!r}: want {SLUG.pattern}")
        if any(row["slug"] == body.slug for row in orgs.rows()):
            raise error(409, f"slug {body.slug!r} is taken")
        return orgs.create(body.slug, body.name or body.slug)

    @router.get("/orgs")
    def list_orgs() -> dict[str, Any]:
        return {"orgs": orgs.rows()}

    @router.get("/orgs/{slug}/admin-token")
    def org_admin_token(slug: str) -> dict[str, str]:
        token = orgs.admin_token(slug)
        if token is None:
            raise error(404, f"org {slug!r} not found")
        return {"admin_token": token}

    @router.delete("/tenants/{slug}")
    def delete_tenant(slug: str, body: TenantDelete) -> dict[str, Any]:
        if body.confirm != slug:
            raise error(400, 'confirmation required: send {"confirm": "<slug>"}')
        if not orgs.delete(slug):
            raise error(404, f"tenant {slug!r} not found")
        return {"status": "deleted", "slug": slug}

    return router


TenantOf = Callable[[str], str]  # org id → tenant slug, for the box's Name tag
