"""A tenant per run, made the way the product's own staging e2e makes one: through the control
plane's org admin API, with the CP admin bearer.

create: `POST /cp/admin/orgs` with a slug named for the run (`e2e-<yyyymmdd>-<run>`), wait until
`GET /cp/admin/orgs` says `instance_status: running` and the tenant's `/health` answers, then
`GET /cp/admin/orgs/<slug>/admin-token`. delete: `DELETE /cp/admin/tenants/<slug>` with
`{"confirm": "<slug>"}` (it removes the tenant's boxes too), then the org list must no longer
show it. The product's own sweeper deletes `e2e-` orgs older than 30 minutes: a run must finish
well inside that.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urlparse

import httpx

from e2e.harness import names
from e2e.harness.report import redact, register_secret
from e2e.harness.settings import SettingsError
from e2e.harness.waits import wait_for

log = logging.getLogger("e2e.orgs")

DELETE_TIMEOUT_S = 180.0  # synchronous on the product: 30-90 s, its own e2e allows 120


def org_slug(run_id: str, day: str | None = None) -> str:
    """The grammar lives in names.py, where the sweeper parses it."""
    try:
        return names.org_slug(run_id, day or time.strftime("%Y%m%d", time.gmtime()))
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def tenant_url_template(cp_url: str) -> str:
    """The product's rule (its staging e2e): `api.X` → `https://{slug}.X`,
    `staging-api.X` → `https://{slug}.staging.X`."""
    host = urlparse(cp_url).hostname or ""
    if host.startswith("staging-api."):
        return "https://{slug}.staging." + host[len("staging-api.") :]
    if host.startswith("api."):
        return "https://{slug}." + host[len("api.") :]
    raise SettingsError(f"cannot derive tenant URLs from {cp_url}: set E2E_TENANT_URL_TEMPLATE")


@dataclass
class OrgTenant:
    """What the run's tenant is, once it runs."""

    slug: str
    org_id: str
    url: str
    admin_token: str


class OrgAdmin:
    def __init__(self, cp_url: str, admin_token: str, timeout_s: float = 30.0) -> None:
        register_secret(admin_token)
        self.http = httpx.Client(
            base_url=cp_url.rstrip("/"),
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=timeout_s,
        )

    def close(self) -> None:
        self.http.close()

    def _ok(self, response: httpx.Response, what: str) -> dict[str, object]:
        if response.status_code >= 300:
            raise AssertionError(f"{what} → {response.status_code}: {redact(response.text)[:500]}")
        data = response.json()
        assert isinstance(data, dict), f"{what}: not a JSON object"
        return data

    def orgs(self) -> list[dict[str, object]]:
        data = self._ok(self.http.get("/cp/admin/orgs"), "GET /cp/admin/orgs")
        orgs = data.get("orgs")
        assert isinstance(orgs, list), f"GET /cp/admin/orgs: no orgs list ({sorted(data)})"
        return [o for o in orgs if isinstance(o, dict)]

    def status(self, slug: str) -> str:
        found = [o for o in self.orgs() if o.get("slug") == slug]
        return str(found[0].get("instance_status")) if found else "absent"

    def create(self, slug: str) -> str:
        """POST the org; its id. (Register its delete before waiting for it to run.)"""
        body = {"slug": slug, "name": f"E2E {slug}", "owner_user_id": f"e2e-runner:{slug}"}
        return str(
            self._ok(self.http.post("/cp/admin/orgs", json=body), "POST /cp/admin/orgs")["id"]
        )

    def wait_running(
        self,
        slug: str,
        org_id: str,
        url_template: str,
        *,
        timeout_s: float,
        poll_s: float,
        log_every_s: float,
    ) -> OrgTenant:
        wait_for(
            f"org {slug} running",
            lambda: self.status(slug),
            lambda status: status == "running",
            timeout_s=timeout_s,
            poll_s=poll_s,
            describe=lambda status: f"instance_status={status}",
            abort=lambda status: f"org is {status}" if status in ("failed", "purged") else None,
            log_every_s=log_every_s,
            transient=(httpx.HTTPError,),
        )
        url = url_template.format(slug=slug).rstrip("/")
        wait_for(
            f"tenant {url} healthy",
            lambda: httpx.get(f"{url}/health", timeout=10).status_code,
            lambda code: code == 200,
            timeout_s=timeout_s,
            poll_s=poll_s,
            describe=lambda code: f"/health → {code}",
            log_every_s=log_every_s,
            transient=(httpx.HTTPError,),
        )
        path = f"/cp/admin/orgs/{slug}/admin-token"
        token = str(self._ok(self.http.get(path), f"GET {path}")["admin_token"])
        register_secret(token)
        return OrgTenant(slug, org_id, url, token)

    def delete(self, slug: str) -> list[str]:
        """Delete the tenant; what is still wrong afterwards (nothing: an empty list)."""
        response = self.http.request(
            "DELETE", f"/cp/admin/tenants/{slug}", json={"confirm": slug}, timeout=DELETE_TIMEOUT_S
        )
        problems = []
        if response.status_code >= 300 and response.status_code != 404:
            body = redact(response.text)[:300]
            problems.append(f"DELETE tenant {slug} → {response.status_code}: {body}")
        if self.status(slug) not in ("absent", "purged"):
            problems.append(f"org {slug} is still listed after its delete ({self.status(slug)})")
        return problems
