"""A fake tenant (and control plane) for the sweeper's tests, served over real HTTP on loopback.

It answers the calls the sweeper makes the way the product does (docs: PRODUCT-API.md, the
product notes): `GET /workspaces` a plain array without `created_at`, events newest first with
zoned `created_at`, `DELETE` needing `X-Confirm-Name` (400), 409 for a parent, 410 once
removed; `GET /cp/admin/orgs` → `{"orgs": [...]}`, `DELETE /cp/admin/tenants/<slug>` with
`{"confirm": slug}`. Each workspace can be given a misbehaviour: a DELETE that hangs (until the
test ends), children. Every request is recorded, so a test can say what was never called.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from support.loopback import loopback_server

TOKEN = "adm-SWEEPCANARY-0123456789abcdef"
CP_TOKEN = "cp-SWEEPCANARY-fedcba9876543210"
ORG_ID = "0f0e0d0c-0000-4000-8000-00000000beef"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # the fixed clock of the in-process tests
RUN = "11250930ab12"  # a stale run: started 09:30 UTC
LIVE = "11251150cd34"  # a run started ten minutes before NOW


def stamp(when: datetime, *, zone: bool = True) -> str:
    text = when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    return text + "Z" if zone else text


@dataclass
class Fake:
    now: datetime
    workspaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    templates: list[dict[str, Any]] = field(default_factory=list)
    orgs: list[dict[str, Any]] = field(default_factory=list)
    hang: set[str] = field(default_factory=set)  # workspace ids whose DELETE never answers
    listing: Any = None  # replaces GET /workspaces' answer (e.g. a paginated object)
    calls: list[tuple[str, str]] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    # -- planting ------------------------------------------------------------------------------
    def template(self, name: str) -> None:
        self.templates.append({"id": name, "name": name, "runtime": "claude-code"})

    def workspace(
        self,
        name: str,
        *,
        events_at: list[datetime] | None = None,
        zone: bool = True,
        parent: str | None = None,
    ) -> str:
        ident = str(uuid.uuid4())
        self.workspaces[ident] = {
            "id": ident,
            "name": name,
            "status": "online",
            "tier": 4,
            "runtime": "claude-code",
            "parent_id": parent,
        }
        times = sorted(events_at or [], reverse=True)  # newest first, like the product
        self.events[ident] = [
            {
                "id": str(uuid.uuid4()),
                "event_type": "WORKSPACE_PROVISIONING",
                "workspace_id": ident,
                "payload": {"name": name},
                "created_at": stamp(t, zone=zone),
            }
            for t in times
        ]
        return ident

    def aged(self, name: str, minutes: float, last: float | None = None, **kw: Any) -> str:
        """A workspace first seen `minutes` ago, last active `last` minutes ago."""
        times = [self.now - timedelta(minutes=minutes)]
        if last is not None:
            times.append(self.now - timedelta(minutes=last))
        return self.workspace(name, events_at=times, **kw)

    def org(self, slug: str, minutes: float | None, status: str = "running") -> None:
        created = None if minutes is None else stamp(self.now - timedelta(minutes=minutes))
        self.orgs.append(
            {
                "id": str(uuid.uuid4()),
                "slug": slug,
                "instance_status": status,
                "created_at": created,
            }
        )

    # -- what happened ---------------------------------------------------------------------------
    def names(self) -> set[str]:
        return {w["name"] for w in self.workspaces.values() if w["status"] != "removed"}

    def deletes(self) -> list[str]:
        return [path for method, path in self.calls if method == "DELETE"]


def _handler(fake: Fake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length)) if length else None

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            fake.calls.append((method, url.path))
            body = self._body()
            if url.path.startswith("/cp/"):
                return self._cp(method, url.path, body)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._send(401, {"error": "invalid admin auth token"})
            if self.headers.get("X-Molecule-Org-Id") != ORG_ID:
                return self._send(404)
            parts = url.path.strip("/").split("/")
            if method == "GET" and parts == ["workspaces"]:
                live = [w for w in fake.workspaces.values() if w["status"] != "removed"]
                return self._send(200, live if fake.listing is None else fake.listing)
            if method == "GET" and parts == ["templates"]:
                return self._send(200, fake.templates)
            if method == "GET" and parts[0] == "events" and len(parts) == 2:
                return self._send(200, fake.events.get(parts[1], [])[:100])
            if method == "DELETE" and parts[0] == "workspaces" and len(parts) == 2:
                return self._delete(parts[1], parse_qs(url.query))
            return self._send(404, {"error": "not found"})

        def _delete(self, ident: str, query: dict[str, list[str]]) -> None:
            ws = fake.workspaces.get(ident)
            if ws is None:
                return self._send(404, {"error": "workspace not found"})
            if ws["status"] == "removed":
                return self._send(410, {"error": "workspace removed", "id": ident})
            if self.headers.get("X-Confirm-Name") != ws["name"]:
                return self._send(400, {"error": "destructive_action_requires_confirmation"})
            children = [
                {"id": w["id"], "name": w["name"]}
                for w in fake.workspaces.values()
                if w.get("parent_id") == ident and w["status"] != "removed"
            ]
            if children and query.get("confirm") != ["true"]:
                body = {"status": "confirmation_required", "children": children}
                return self._send(409, {**body, "children_count": len(children)})
            if ident in fake.hang:
                fake.released.wait(30)  # the client gives up first (ReadTimeout)
                return None
            ws["status"] = "removed"
            return self._send(200, {"status": "removed", "cascade_deleted": 0})

        def _cp(self, method: str, path: str, body: Any) -> None:
            if self.headers.get("Authorization") != f"Bearer {CP_TOKEN}":
                return self._send(401, {"error": "unauthorized"})
            if method == "GET" and path == "/cp/admin/orgs":
                return self._send(200, {"orgs": fake.orgs})
            prefix = "/cp/admin/tenants/"
            if method == "DELETE" and path.startswith(prefix):
                slug = path[len(prefix) :]
                if not isinstance(body, dict) or body.get("confirm") != slug:
                    return self._send(400, {"error": "confirm must equal the slug"})
                for org in fake.orgs:
                    if org["slug"] == slug and org["instance_status"] != "purged":
                        org["instance_status"] = "purged"
                        return self._send(200, {"status": "deleted"})
                return self._send(404, {"error": "not found"})
            return self._send(404, {"error": "not found"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_DELETE(self) -> None:
            self._route("DELETE")

    return Handler


def env_for(fake: Fake, **extra: str) -> dict[str, str]:
    return {
        "E2E_PLATFORM_URL": fake.url,
        "E2E_ADMIN_TOKEN": TOKEN,
        "E2E_ORG_ID": ORG_ID,
        "E2E_CP_URL": fake.url,
        "E2E_CP_ADMIN_TOKEN": CP_TOKEN,
        "E2E_SWEEP_ALLOWED_HOSTS": "staging.example.com,127.0.0.1",
        **extra,
    }


@contextmanager
def serve(fake: Fake) -> Iterator[Fake]:
    with loopback_server(_handler(fake)) as url:
        fake.url = url
        try:
            yield fake
        finally:
            fake.released.set()  # handlers held on it end before the server shuts down
