"""`--orgs`: the control plane's e2e orgs of this harness, swept the way the product's own
workflow (`sweep-stale-e2e-orgs.yml`) sweeps its own: `GET /cp/admin/orgs`, stale by the
org's `created_at`, and if more are stale than the cap, none is deleted and the sweep fails
(a mass of stale orgs means something is wrong, not that more deleting is needed). Each goes
with `DELETE /cp/admin/tenants/<slug>` `{"confirm": "<slug>"}` (synchronous, 30-90 s).

Ours: the slug parses as `e2e-<yyyymmdd>-<run>` (`e2e.harness.names`), the run id in a format
the harness generates and its stamp day the slug's day or the one before. The product's
sweeper takes any `e2e-` org; this one never touches another team's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from e2e.harness.names import PREFIX, parse_org_slug
from e2e.harness.platform import PlatformError
from e2e.sweep import dating
from e2e.sweep.listing import whole_list
from e2e.sweep.policy import Case, Item, judge_age
from e2e.sweep.summary import Summary
from e2e.sweep.tenant import READ_TIMEOUT_S, RESOURCE_ERRORS, describe_error

ORG_DELETE_TIMEOUT_S = 150.0  # the product's own sweeper waits 120 s for a 30-90 s delete
GONE = ("purged",)


class CapExceeded(RuntimeError):
    """More stale orgs than the cap: delete none."""


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


class ControlPlane:
    def __init__(self, base_url: str, token: str, *, transport: Any = None) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=READ_TIMEOUT_S,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def orgs(self) -> list[dict[str, Any]]:
        """Every org, or IncompleteListing; reads are retried (bounded), never a delete."""
        for attempt in Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(4),
            wait=wait_exponential(multiplier=0.5, max=5),
            reraise=True,
        ):
            with attempt:
                response = self._http.get("/cp/admin/orgs", params={"limit": 500})
                if response.status_code >= 500 or response.status_code == 429:
                    response.raise_for_status()
        if response.status_code != 200:
            raise PlatformError("GET", "/cp/admin/orgs", response.status_code, response.text)
        orgs = whole_list(response, "GET /cp/admin/orgs", "orgs")
        return [o for o in orgs if isinstance(o, dict)]

    def delete(self, slug: str) -> bool:
        """True: deleted; False: it was already gone (404)."""
        path = f"/cp/admin/tenants/{slug}"
        response = self._http.request(
            "DELETE",
            path,
            json={"confirm": slug},
            timeout=httpx.Timeout(ORG_DELETE_TIMEOUT_S, connect=READ_TIMEOUT_S),
        )
        if response.status_code == 404:
            return False
        if response.status_code not in (200, 202, 204):
            raise PlatformError("DELETE", path, response.status_code, response.text)
        return True


@dataclass(frozen=True)
class OrgRules:
    now: datetime
    run_id: str | None
    min_age: float
    max_deletions: int
    delete: bool


def sweep_orgs(cp: ControlPlane, summary: Summary, rules: OrgRules) -> None:
    stale: list[Item] = []
    for org in cp.orgs():
        slug = str(org.get("slug") or "")
        run = parse_org_slug(slug)
        if not slug.startswith(f"{PREFIX}-") or (rules.run_id and run not in (None, rules.run_id)):
            summary.ignored += 1
            continue
        item = Item("org", str(org.get("id") or slug), slug, run=run)
        summary.items.append(item)
        if run is None:
            item.settle(Case.KEPT_FOREIGN, "slug is not e2e-<yyyymmdd>-<run id> of this harness")
        elif str(org.get("instance_status")) in GONE:
            item.settle(Case.ALREADY_GONE, f"instance_status {org.get('instance_status')}")
        else:
            dates = dating.from_times([org.get("created_at")], "created_at")
            if judge_age(item, dates, rules.now, rules.min_age):
                stale.append(item)
    if len(stale) > rules.max_deletions:
        for item in stale:
            item.settle(Case.KEPT_OVER_CAP, f"{len(stale)} stale > cap {rules.max_deletions}")
        raise CapExceeded(
            f"{len(stale)} stale e2e orgs, more than the cap of {rules.max_deletions}: deleting "
            "none (as the product's own sweeper does); look at what is creating them"
        )
    for item in sorted(stale, key=lambda i: -(i.age_minutes or 0.0)):
        if not rules.delete:
            item.settle(Case.WOULD_DELETE, item.reason)
            continue
        try:
            deleted = cp.delete(item.name)
        except RESOURCE_ERRORS as exc:
            item.settle(Case.FAILED, f"delete failed ({item.reason})", describe_error(exc))
        else:
            item.settle(Case.DELETED if deleted else Case.ALREADY_GONE, item.reason)
