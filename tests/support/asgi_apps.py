"""ASGI test doubles for the middleware tests: `Echo`, an app that answers every path with JSON
naming it and records the requests that reached it (a refusal and a pass look different), and
`AsgiClient`, a synchronous httpx client that calls an ASGI app in-process."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
from starlette.types import Receive, Scope, Send


class Echo:
    def __init__(self) -> None:
        self.reached: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reached.append(f"{scope['method']} {scope['path']}")
        body = json.dumps({"path": scope["path"]}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class AsgiClient:
    """A synchronous client for an ASGI app over httpx's ASGITransport (no server, no thread):
    each call runs in its own event loop. `client` is the peer address the app sees."""

    def __init__(self, app: Any, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self.app = app
        self.client = client

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=self.client)
            async with httpx.AsyncClient(transport=transport, base_url="http://tenant.test") as c:
                return await c.request(method, path, **kwargs)

        return anyio.run(go)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)
