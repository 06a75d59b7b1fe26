"""The platform's HTTP client for the control plane (a real hop, so a staging split is a URL)."""

from __future__ import annotations

import functools
import ssl
import time
from typing import Any

import httpx

# Pauses between attempts when the CP refuses the connection (None: give up).
CONNECT_RETRY_PAUSES_S = (0.1, 0.3, 1.0, None)


class CpError(Exception):
    """The CP refused or failed; `message` is its `{"error"}` text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"control plane answered {status}: {message}")
        self.status = status
        self.message = message


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process (and inherited by forked stacks): httpx would otherwise build
    one per client, loading the CA bundle (~0.05 s of CPU) into it for every stack."""
    return httpx.create_ssl_context()


class CpClient:
    def __init__(self, base_url: str, secret: str, timeout_s: float = 60.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {secret}"},
            timeout=timeout_s,
            # as many kept-alive connections as connections, no fewer than the provision jobs
            # that call at once: httpcore 1.0.9's sync pool may close a connection it just gave
            # to a waiting request (to trim keep-alives, or to make room at the limit), and
            # that request then fails with EBADF or hangs until its read timeout
            # (encode/httpcore#1110) — two failed provisions in a 200-workspace burst
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=256),
            verify=_tls_context(),
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = None
        for pause in CONNECT_RETRY_PAUSES_S:
            try:
                answer = self._http.request(method, path, **kwargs)
                break
            except httpx.ConnectError as exc:
                # nothing was sent, so even a POST is safe to repeat
                if pause is None:
                    raise CpError(502, f"control plane unreachable: {exc!r}") from exc
                time.sleep(pause)
            except httpx.HTTPError as exc:
                raise CpError(502, f"control plane call failed: {exc!r}") from exc
        assert answer is not None
        try:
            body = answer.json()
        except ValueError:
            body = {"error": answer.text[:500]}
        if answer.status_code >= 300:
            message = body.get("error") if isinstance(body, dict) else None
            raise CpError(answer.status_code, str(message or body))
        return dict(body)

    def provision(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/workspaces/provision", json=request)

    def stop(self, workspace_id: str, instance_id: str, *, prune: bool = False) -> dict[str, Any]:
        params = {"instance_id": instance_id} | ({"prune": "true"} if prune else {})
        return self._call("DELETE", f"/workspaces/{workspace_id}", params=params)
