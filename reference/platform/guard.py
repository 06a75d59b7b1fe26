"""What every request passes before routing, in the product's order (router.go):
rate limiter, then the tenant guard. Authentication is per route (`auth.py`).

- rate limit: fixed window per key — `org:<X-Molecule-Org-Id>`, else the bearer's hash, else
  the peer address; `X-RateLimit-Limit/Remaining/Reset` on every answer, 429 with
  `Retry-After` past the limit (middleware/ratelimit.go). Applies to every path.
- tenant guard: `X-Molecule-Org-Id` must be the tenant's org (middleware/tenant_guard.go):
  missing → 400 TENANT_ORG_HEADER_REQUIRED, another org → 404 with an empty body. Exempt:
  /health, /buildinfo, /metrics, /registry/register, /registry/heartbeat, and /cp/*.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

GUARD_EXEMPT = frozenset(
    {"/health", "/buildinfo", "/metrics", "/registry/register", "/registry/heartbeat"}
)
MISSING_ORG_BODY = {
    "error": "missing tenant routing header",
    "code": "TENANT_ORG_HEADER_REQUIRED",
    "required_header": "X-Molecule-Org-Id",
    "detail": "SaaS tenant API requests must include X-Molecule-Org-Id matching the "
    "organization UUID.",
}


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def send_json(
    send: Send, status: int, body: object, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = b"" if body is None else json.dumps(body).encode()
    headers = [(b"content-length", str(len(data)).encode()), *(extra or [])]
    if body is not None:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class RateLimit:
    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    @staticmethod
    def key(scope: Scope) -> str:
        headers = _headers(scope)
        org = headers.get("x-molecule-org-id", "").strip()
        if org:
            return "org:" + org
        bearer = headers.get("authorization", "")
        if bearer:
            return "tok:" + hashlib.sha256(bearer.encode()).hexdigest()
        client = scope.get("client")
        return f"ip:{client[0] if client else '?'}"

    def take(self, key: str) -> tuple[int, float]:
        """(requests left in this window, seconds until it resets); left < 0: over."""
        now = self.clock()
        with self._lock:
            start, used = self._windows.get(key, (now, 0))
            if now - start >= self.window_s:
                start, used = now, 0
            used += 1
            self._windows[key] = (start, used)
        return self.limit - used, start + self.window_s - now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        left, reset_s = self.take(self.key(scope))
        reset = str(int(reset_s)).encode()  # truncated, as the product's (it can say 0)
        headers = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(max(0, left)).encode()),
            (b"x-ratelimit-reset", reset),
        ]
        if left < 0:
            body = {"error": "rate limit exceeded", "retry_after": int(reset_s)}
            await send_json(send, 429, body, [*headers, (b"retry-after", reset)])
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, with_headers)


class TenantGuard:
    def __init__(self, app: ASGIApp, org_id: str) -> None:
        self.app = app
        self.org_id = org_id

    @staticmethod
    def exempt(path: str) -> bool:
        return path in GUARD_EXEMPT or path.startswith("/cp/") or path == "/cp"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        org = _headers(scope).get("x-molecule-org-id", "")
        if not org:
            await send_json(send, 400, MISSING_ORG_BODY)
            return
        if not hmac.compare_digest(org.encode(), self.org_id.encode()):
            await send_json(send, 404, None)
            return
        await self.app(scope, receive, send)


class Flaky5xx:
    """Fault `platform-5xx`: every third admin GET answers 503 (a flaky load balancer)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and not TenantGuard.exempt(scope["path"])
            and not scope["path"].startswith("/registry/")
        ):
            self.count += 1
            if self.count % 3 == 0:
                await send_json(send, 503, {"error": "service unavailable (fault platform-5xx)"})
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for a declared Content-Length over `limit`, before anything reads the body."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == b"content-length" and value.isdigit() and int(value) > self.limit:
                    await send_json(send, 413, {"error": "request body too large"})
                    return
        await self.app(scope, receive, send)
