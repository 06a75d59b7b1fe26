"""Admin authentication and SaaS tenant scoping, applied before any routing or body parsing.

Order (docs/contract.md): a SaaS tenant router first finds the tenant from `X-Molecule-Org-Id`
(missing or unknown → 404, which hides tenants), then the admin Bearer token is checked (401).
`/health`, `/registry/*` and `/cp/*` are exempt (the latter two carry their own credentials),
as are the OpenAPI description and its docs pages.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from reference.config import StackConfig

OPEN_PATHS = ("/health", "/openapi.json", "/docs", "/redoc")
OWN_CREDENTIAL_PREFIXES = ("/registry/", "/cp/")


def is_admin_path(path: str) -> bool:
    if path in OPEN_PATHS or path == "/cp" or path.startswith("/docs/"):
        return False
    return not any(path.startswith(p) for p in OWN_CREDENTIAL_PREFIXES)


async def send_json(send: Send, status: int, body: dict[str, object]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="molecule"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class AdminAuth:
    """ASGI middleware: org scoping (SaaS) then the admin token, for every admin path."""

    def __init__(self, app: ASGIApp, config: StackConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_admin_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.config.backend == "saas":
            org = headers.get("x-molecule-org-id", "").strip()
            if not hmac.compare_digest(org.encode(), self.config.org_id.encode()):
                what = "missing" if not org else "unknown"
                await send_json(
                    send, 404, {"error": f"not found (X-Molecule-Org-Id header {what})"}
                )
                return
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            await send_json(send, 401, {"error": "missing admin token (Authorization: Bearer)"})
            return
        if not hmac.compare_digest(token.encode(), self.config.admin_token.encode()):
            await send_json(send, 401, {"error": "wrong admin token"})
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for a declared Content-Length over `limit`, before anything reads the body.

    Chunked bodies (no Content-Length) are not capped here; every client we serve declares it.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > self.limit:
                await send_json(
                    send, 413, {"error": f"request body {int(value)} bytes over {self.limit}"}
                )
                return
        await self.app(scope, receive, send)


class Flaky5xx:
    """Fault `platform-5xx`: every third admin GET answers 503 (a flaky load balancer)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and is_admin_path(scope["path"]):
            self.count += 1
            if self.count % 3 == 0:
                await send_json(
                    send, 503, {"error": "service unavailable (fault platform-5xx); retry"}
                )
                return
        await self.app(scope, receive, send)
