"""The product's tenant API, as the harness calls it: auth and org headers, careful retries,
and every answer parsed by its model (`product.py`), so drift fails at once.

Retries (tenacity) cover only what is safe to repeat: reads (GET) on transport errors and 5xx,
any request whose connection was never established, and any request the rate limiter refused
(429: not processed; the wait honours Retry-After). A POST that may have reached the server is
never re-sent: creating twice, or restarting twice, would change what we test. Every retry is
counted (`retries.py`) so nothing is absorbed silently.

Each call has a `…_response()` twin that returns the raw answer, so refusal tests send exactly
the request the happy path sends (Terratest's Foo/FooE).
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from e2e.harness import product, retries
from e2e.harness.product import (
    Created,
    Event,
    FileContent,
    FileEntry,
    PluginInstalled,
    Removed,
    Restarted,
    TemplateImported,
    TemplateSummary,
    WorkspaceRow,
    parse,
    parse_list,
)
from e2e.harness.report import redact

log = logging.getLogger("e2e.platform")

ORG_HEADER = "X-Molecule-Org-Id"
CONFIRM_HEADER = "X-Confirm-Name"
# connection never established: the request cannot have had an effect, so any method may retry
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAX_RETRY_AFTER_S = 60.0


class PlatformError(AssertionError):
    """An unexpected answer, with method, path, status and (redacted) body."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(redact(f"{method} {path} → {status}: {redact(body)[:2000]}"))
        self.method, self.path, self.status, self.body = method, path, status, body


class WorkspaceGone(PlatformError):
    """410: the workspace was removed."""


class HasChildren(PlatformError):
    """409 on DELETE: the workspace has child workspaces (`?confirm=true` would cascade)."""


class _RetryableAnswer(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code}")
        self.response = response


def _retry_after(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, _RetryableAnswer) and exc.response.status_code == 429:
        try:
            return min(MAX_RETRY_AFTER_S, float(exc.response.headers.get("retry-after", "1")))
        except ValueError:
            return 1.0
    return min(2.0, 0.05 * 2 ** (state.attempt_number - 1))


def _decoded(response: httpx.Response, method: str, path: str) -> Any:
    """The answer's JSON; an answer that is not JSON is API drift, named by its call."""
    try:
        return response.json()
    except ValueError:
        raise product.ApiDrift(
            f"API drift: {method} {path} answered {response.status_code} with no JSON "
            f"({redact(response.text)[:200]!r})"
        ) from None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: httpx would otherwise build one per client and load the CA
    bundle into it (~0.05 s of CPU each), and a run makes dozens of clients."""
    return httpx.create_ssl_context()


class PlatformClient:
    """`org_header=None` / `token=None` omit them (refusal tests)."""

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
            # as many kept-alive connections as connections, no fewer than the threads calling
            # at once: httpcore 1.0.9's sync pool may close a connection it just gave to a
            # waiting request (to trim keep-alives, or to make room at the limit), which then
            # fails with EBADF or hangs until its read timeout (encode/httpcore#1110)
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=256),
            transport=transport,
            verify=_tls_context(),
        )
        # a GET that timed out (timeout_s) is still retried: the budget starts after it
        self._retry_budget_s = retry_budget_s + timeout_s
        self._attempts = attempts

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------
    def request(self, method: str, path: str, *, json: Any = None, **kw: Any) -> httpx.Response:
        """Send with the retries of the module docstring; returns any final answer."""
        method = method.upper()
        idempotent = method in ("GET", "HEAD")

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, _NOT_SENT):
                return True
            if isinstance(exc, _RetryableAnswer):
                return exc.response.status_code == 429 or idempotent
            return idempotent and isinstance(exc, httpx.TransportError)

        def count(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            what = str(exc) if isinstance(exc, _RetryableAnswer) else type(exc).__name__
            retries.LEDGER.record_http(path, what)
            log.info("platform retry %d: %s %s after %s", state.attempt_number, method, path, what)

        retrying = Retrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(self._attempts) | stop_after_delay(self._retry_budget_s),
            wait=_retry_after,
            before_sleep=count,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = self._http.request(method, path, json=json, **kw)
                    if response.status_code == 429 or (idempotent and response.status_code >= 500):
                        raise _RetryableAnswer(response)
                    return response
        except _RetryableAnswer as exc:  # retries used up: hand the last answer to the caller
            return exc.response
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, method: str, path: str, expect: tuple[int, ...], **kw: Any) -> Any:
        response = self.request(method, path, **kw)
        if response.status_code not in expect:
            raise PlatformError(method, path, response.status_code, response.text)
        return _decoded(response, method, path)

    # -- the calls ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return dict(self._json("GET", "/health", (200,)))

    def buildinfo(self) -> product.BuildInfo:
        return parse(product.BuildInfo, self._json("GET", "/buildinfo", (200,)), "GET /buildinfo")

    def import_template_response(self, name: str, files: Mapping[str, str]) -> httpx.Response:
        return self.request("POST", "/templates/import", json={"name": name, "files": files})

    def import_template(self, name: str, files: Mapping[str, str]) -> TemplateImported:
        data = self._json("POST", "/templates/import", (201,), json={"name": name, "files": files})
        return parse(TemplateImported, data, "POST /templates/import")

    def templates(self) -> list[TemplateSummary]:
        data = self._json("GET", "/templates", (200,))
        return parse_list(TemplateSummary, data, "GET /templates")

    def create_workspace_response(self, body: Mapping[str, Any]) -> httpx.Response:
        return self.request("POST", "/workspaces", json=dict(body))

    def create_workspace(self, body: Mapping[str, Any]) -> Created:
        data = self._json("POST", "/workspaces", (201,), json=dict(body))
        return parse(Created, data, "POST /workspaces")

    def get_workspace(self, workspace_id: str) -> WorkspaceRow:
        path = f"/workspaces/{workspace_id}"
        response = self.request("GET", path)
        if response.status_code == 410:
            raise WorkspaceGone("GET", path, 410, response.text)
        if response.status_code != 200:
            raise PlatformError("GET", path, response.status_code, response.text)
        return parse(WorkspaceRow, _decoded(response, "GET", path), "GET /workspaces/:id")

    def list_workspaces(self) -> list[WorkspaceRow]:
        data = self._json("GET", "/workspaces", (200,))
        return parse_list(WorkspaceRow, data, "GET /workspaces")

    def delete_workspace_response(
        self, workspace_id: str, name: str | None, *, erase_data: bool = True
    ) -> httpx.Response:
        headers = {CONFIRM_HEADER: name} if name is not None else {}
        params = {"erase_data": "true"} if erase_data else {}
        return self.request("DELETE", f"/workspaces/{workspace_id}", headers=headers, params=params)

    def delete_workspace(self, workspace_id: str, name: str) -> Removed | None:
        """Removed now, or None when it was already removed (410). Never cascades: a
        workspace with children answers HasChildren."""
        return removed(self.delete_workspace_response(workspace_id, name), workspace_id)

    def restart_response(self, workspace_id: str, body: Mapping[str, Any] | None = None) -> Any:
        return self.request("POST", f"/workspaces/{workspace_id}/restart", json=body or {})

    def restart(self, workspace_id: str, body: Mapping[str, Any] | None = None) -> Restarted:
        data = self._json("POST", f"/workspaces/{workspace_id}/restart", (200,), json=body or {})
        return parse(Restarted, data, "POST /workspaces/:id/restart")

    def install_plugin_response(self, workspace_id: str, source: str) -> httpx.Response:
        return self.request("POST", f"/workspaces/{workspace_id}/plugins", json={"source": source})

    def install_plugin(self, workspace_id: str, source: str) -> PluginInstalled:
        path = f"/workspaces/{workspace_id}/plugins"
        data = self._json("POST", path, (200,), json={"source": source})
        return parse(PluginInstalled, data, "POST /workspaces/:id/plugins")

    def events(self, workspace_id: str) -> list[Event]:
        data = self._json("GET", f"/events/{workspace_id}", (200,))
        return parse_list(Event, data, "GET /events/:id")

    def list_files(
        self, workspace_id: str, root: str, path: str = "", depth: int = 1
    ) -> list[FileEntry]:
        params: dict[str, Any] = {"root": root, "depth": depth}
        if path:
            params["path"] = path
        data = self._json("GET", f"/workspaces/{workspace_id}/files", (200,), params=params)
        return parse_list(FileEntry, data, "GET /workspaces/:id/files")

    def read_file(self, workspace_id: str, path: str, root: str) -> FileContent | None:
        call = f"/workspaces/{workspace_id}/files/{quote(path, safe='/')}"
        response = self.request("GET", call, params={"root": root})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise PlatformError("GET", call, response.status_code, response.text)
        data = _decoded(response, "GET", call)
        return parse(FileContent, data, "GET /workspaces/:id/files/<path>")


def removed(response: httpx.Response, workspace_id: str) -> Removed | None:
    """A `DELETE /workspaces/:id` answer: Removed, or None when it already was (410). 409 is
    HasChildren (never cascade: it could take another team's workspace along)."""
    path = f"/workspaces/{workspace_id}"
    if response.status_code == 410:
        return None
    if response.status_code == 409:
        raise HasChildren("DELETE", path, 409, response.text)
    if response.status_code != 200:
        raise PlatformError("DELETE", path, response.status_code, response.text)
    return parse(Removed, _decoded(response, "DELETE", path), "DELETE /workspaces/:id")
