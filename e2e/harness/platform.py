"""The platform API client (DESIGN §3): timeouts, auth and org headers, careful retries.

Retries (tenacity) cover only what is safe to repeat: reads (GET) on transport errors and 5xx,
and any request whose connection was never established. A POST that may have reached the
server is never re-sent: creating twice, or restarting twice, would change what we test.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Mapping
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from e2e.harness.report import redact

log = logging.getLogger("e2e.platform")

ORG_HEADER = "X-Molecule-Org-Id"
# connection never established: the request cannot have had an effect, so any method may retry
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class PlatformError(AssertionError):
    """An unexpected answer, with method, path, status and (redacted) body."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(redact(f"{method} {path} → {status}: {body[:2000]}"))
        self.method, self.path, self.status, self.body = method, path, status, body


class _Retryable5xx(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code}")
        self.response = response


def _should_retry(method: str) -> Any:
    idempotent = method in ("GET", "HEAD")

    def check(exc: BaseException) -> bool:
        if isinstance(exc, _NOT_SENT):
            return True
        return idempotent and isinstance(exc, httpx.TransportError | _Retryable5xx)

    return retry_if_exception(check)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.info("platform retry %d after %s", state.attempt_number, type(exc).__name__)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: httpx would otherwise build one per client and load the CA
    bundle into it (~0.05 s of CPU each), and a run makes dozens of clients."""
    return httpx.create_ssl_context()


class PlatformClient:
    """Thin, typed wrapper over httpx. `org_header=False` / `token=None` exist for refusal tests."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        org_id: str | None,
        *,
        timeout_s: float = 10.0,
        retry_budget_s: float = 20.0,
        attempts: int = 6,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if org_id is not None:
            headers[ORG_HEADER] = org_id
        self._http = httpx.Client(
            base_url=base_url,
            headers=headers,
            timeout=timeout_s,
            transport=transport,
            verify=_tls_context(),
        )
        self._retry_budget_s = retry_budget_s
        self._attempts = attempts

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: Any = None, **kw: Any) -> httpx.Response:
        """Send with retries as described in the module docstring; returns any final answer."""
        method = method.upper()
        retrying = Retrying(
            retry=_should_retry(method),
            stop=stop_after_attempt(self._attempts) | stop_after_delay(self._retry_budget_s),
            wait=wait_exponential(multiplier=0.05, max=2.0),
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = self._http.request(method, path, json=json, **kw)
                    if method in ("GET", "HEAD") and response.status_code >= 500:
                        raise _Retryable5xx(response)
                    return response
        except _Retryable5xx as exc:  # retries used up: hand the last 5xx to the caller
            return exc.response
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, method: str, path: str, expect: tuple[int, ...], **kw: Any) -> Any:
        response = self.request(method, path, **kw)
        if response.status_code not in expect:
            raise PlatformError(method, path, response.status_code, response.text)
        return response.json() if response.content else None

    # -- DESIGN §3 calls ---------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return dict(self._json("GET", "/health", (200,)))

    def import_template(self, name: str, files: Mapping[str, str]) -> dict[str, Any]:
        return dict(
            self._json("POST", "/templates/import", (201,), json={"name": name, "files": files})
        )

    def templates(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/templates", (200,)))

    def create_workspace(self, name: str, template: str, **extra: Any) -> dict[str, Any]:
        body = {"name": name, "template": template, **extra}
        return dict(self._json("POST", "/workspaces", (201,), json=body))

    def get_workspace(self, workspace_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/workspaces/{workspace_id}", (200,)))

    def delete_workspace(self, workspace_id: str) -> bool:
        """True if removed now, False if it was already gone (404)."""
        response = self.request("DELETE", f"/workspaces/{workspace_id}", params={"confirm": "true"})
        if response.status_code == 404:
            return False
        if response.status_code >= 300:
            raise PlatformError(
                "DELETE", f"/workspaces/{workspace_id}", response.status_code, response.text
            )
        return True

    def restart(self, workspace_id: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/workspaces/{workspace_id}/restart", (200, 202), json={}))

    def install_plugin(self, workspace_id: str, source: str) -> dict[str, Any]:
        path = f"/workspaces/{workspace_id}/plugins"
        return dict(self._json("POST", path, (200, 201), json={"source": source}))

    def plugins(self, workspace_id: str) -> list[dict[str, Any]]:
        return list(self._json("GET", f"/workspaces/{workspace_id}/plugins", (200,)))

    def events(self, workspace_id: str) -> list[dict[str, Any]]:
        return list(self._json("GET", f"/events/{workspace_id}", (200,)))
