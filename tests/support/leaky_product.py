"""A deliberately leaky tenant (and AWS endpoint) for the redaction canary, over real HTTP.

It answers the harness's calls well enough for the suite to run against it, and leaks the
way real systems do: every answer echoes the request's headers (a debug error page), so the
refusal tests fail with the admin token in their error text; a workspace never comes online
and its events carry a box's log tail with user-data and environment in it (workspace token,
AWS keys, the CP token), so the gate times out with those in its diagnostics; and as an AWS
endpoint it fails with the request headers in the message (the session token). The canary
proves none of that reaches a report.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from support.loopback import loopback_server

ORG_ID = "1eacca4a-0000-4000-8000-00000000beef"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def log_tail(secrets: Mapping[str, str]) -> str:
    """A box's cloud-init output: its user-data and environment, as a careless boot prints
    them. The workspace token starts 7 characters before the 120th, where the timeline cuts:
    cut first and masked after, those 7 would survive."""
    lead = "cloud-init: user-data " + "." * 69 + ' {"workspace_token": "'
    return (
        lead
        + secrets["userdata token"]
        + f'"}}\nAWS_SECRET_ACCESS_KEY={secrets["AWS secret access key"]}'
        + f"\nE2E_CP_ADMIN_TOKEN={secrets['CP admin token']}"
    )


class Leaky:
    def __init__(self, secrets: Mapping[str, str]) -> None:
        self.secrets = dict(secrets)
        self.workspaces: dict[str, dict[str, Any]] = {}
        self.url = ""

    def events(self, ident: str) -> list[dict[str, Any]]:
        ws = self.workspaces[ident]
        made = {"id": str(uuid.uuid4()), "workspace_id": ident, "created_at": ws["created"]}
        tail = log_tail(self.secrets)
        return [
            {
                **made,
                "id": ws["failed_id"],
                "event_type": "WORKSPACE_PROVISION_FAILED",
                "payload": {  # a transient provision timeout: the harness keeps waiting
                    "error": "provisioning timed out",
                    "source": "provision_timeout_sweep",
                    "user_data": tail[tail.index("{") :].split("\n")[0],
                    "env": tail.split("\n", 1)[1],
                    "log_tail": tail,
                },
            },
            {
                **made,
                "id": ws["event_id"],
                "event_type": "WORKSPACE_PROVISIONING",
                "payload": {"name": ws["name"], "tier": 4, "runtime": "claude-code"},
            },
        ]


def _handler(product: Leaky) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _echo(self) -> dict[str, str]:
            return {k.lower(): v for k, v in self.headers.items()}

        def _read(self) -> Any:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode("latin-1")

        def _route(self, method: str) -> None:
            body = self._read()
            path = urlsplit(self.path).path
            parts = path.strip("/").split("/")
            if "aws4-hmac" in self.headers.get("Authorization", "").lower():
                message = f"debug echo {json.dumps(self._echo())}"
                error = f"<Response><Errors><Error><Code>InternalError</Code><Message>{message}"
                error += "</Message></Error></Errors><RequestID>1</RequestID></Response>"
                return self._send(500, error, "text/xml")
            echo = {"debug": {"request_headers": self._echo()}}
            if method == "GET" and path == "/health":
                return self._send(200, {"status": "ok"})
            if method == "POST" and path == "/templates/import":
                name = body.get("name", "x") if isinstance(body, dict) else "x"
                return self._send(201, {"status": "imported", "id": name, "name": name, **echo})
            if method == "POST" and path == "/workspaces":
                ident = str(uuid.uuid4())
                name = body.get("name", "x") if isinstance(body, dict) else "x"
                product.workspaces[ident] = {
                    "name": name,
                    "created": _now(),
                    "event_id": str(uuid.uuid4()),
                    "failed_id": str(uuid.uuid4()),
                    "removed": False,
                }
                answer = {"id": ident, "status": "provisioning", "workspace_access": "none"}
                answer["auth_token"] = product.secrets["workspace token"]
                return self._send(201, {**answer, **echo})
            if parts[0] == "workspaces" and len(parts) == 2 and parts[1] in product.workspaces:
                ws = product.workspaces[parts[1]]
                if ws["removed"]:
                    return self._send(410, {"error": "workspace removed", "id": parts[1]})
                if method == "DELETE":
                    ws["removed"] = True
                    return self._send(200, {"status": "removed", "cascade_deleted": 0})
                row = {"id": parts[1], "name": ws["name"], "status": "provisioning", "tier": 4}
                return self._send(200, row)
            if method == "GET" and parts[0] == "events" and parts[-1] in product.workspaces:
                return self._send(200, product.events(parts[-1]))
            if method == "GET" and path in ("/workspaces", "/templates"):
                return self._send(200, [])
            return self._send(200, echo)  # everything else "works", and says what it got

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_DELETE(self) -> None:
            self._route("DELETE")

    return Handler


@contextmanager
def serve(secrets: Mapping[str, str]) -> Iterator[Leaky]:
    product = Leaky(secrets)
    with loopback_server(_handler(product)) as url:
        product.url = url
        yield product
