"""The tenant's API as the sweeper uses it, through the harness's typed client: whole listings
only, events for dating, and a DELETE that confirms the name, never cascades, and waits longer
than a read does (the product stops the box before it answers)."""

from __future__ import annotations

import httpx

from e2e.harness.platform import CONFIRM_HEADER, PlatformClient, PlatformError, removed
from e2e.harness.product import ApiDrift, Removed, WorkspaceRow, parse_list
from e2e.sweep import dating
from e2e.sweep.listing import whole_list

READ_TIMEOUT_S = 15.0
DELETE_TIMEOUT_S = 180.0  # the product stops the box (3 tries at the control plane) first

# what one resource's trouble may look like; recorded for that resource, the sweep goes on
RESOURCE_ERRORS = (httpx.HTTPError, PlatformError, ApiDrift, ValueError)


def describe_error(exc: BaseException) -> str:
    """`Type: message`, one line per cause is enough for a summary."""
    text = str(exc).strip() or repr(exc)
    return f"{type(exc).__name__}: {text}"


class Tenant:
    def __init__(self, client: PlatformClient, delete_timeout_s: float = DELETE_TIMEOUT_S):
        self.client = client
        self.delete_timeout_s = delete_timeout_s

    def close(self) -> None:
        self.client.close()

    def _list(self, path: str) -> list[object]:
        response = self.client.request("GET", path)
        if response.status_code != 200:
            raise PlatformError("GET", path, response.status_code, response.text)
        return whole_list(response, f"GET {path}")

    def workspaces(self) -> list[WorkspaceRow]:
        """Every live workspace of the tenant (the product leaves removed ones out)."""
        rows = parse_list(WorkspaceRow, self._list("/workspaces"), "GET /workspaces")
        return [row for row in rows if row.status != "removed"]

    def template_ids(self) -> list[str]:
        """Ids (directories) and names of the tenant's templates."""
        found = []
        for item in self._list("/templates"):
            if isinstance(item, dict):
                found += [str(item[k]) for k in ("id", "name") if item.get(k)]
        return found

    def dates(self, row: WorkspaceRow) -> dating.Dates:
        """Oldest and newest event, and the row's own `created_at` if a platform gives one."""
        events = self.client.events(row.id)
        from_events = dating.from_times([e.created_at for e in events], "events")
        extra = row.model_extra or {}
        if "created_at" in extra:
            row_time = dating.from_times([extra["created_at"]], "created_at")
            return dating.combine(row_time, from_events)
        return from_events

    def delete(self, row: WorkspaceRow) -> Removed | None:
        """Removed now, or None if it already was (410). A workspace with children answers
        HasChildren: cascading could take another team's workspace with it."""
        response = self.client.request(
            "DELETE",
            f"/workspaces/{row.id}",
            headers={CONFIRM_HEADER: row.name},
            params={"erase_data": "true"},
            timeout=httpx.Timeout(self.delete_timeout_s, connect=READ_TIMEOUT_S),
        )
        return removed(response, row.id)
