"""The platform's `/registry/*` API as the box calls it (JSON over `http_lite`).

Every call carries the workspace token; every call but register and heartbeat also carries
`X-Molecule-Org-Id`, since the product's tenant guard exempts only those two.
"""

from __future__ import annotations

import json
import time
from typing import Any

from reference.box.http_lite import HttpError, request


class RegistryError(Exception):
    """The platform could not be reached (status None) or answered with an error status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


ORG_HEADER = "X-Molecule-Org-Id"
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
GUARD_EXEMPT = frozenset({"/registry/register", "/registry/heartbeat"})


def http_json(
    method: str,
    url: str,
    token: str,
    payload: Any = None,
    timeout: float = 5.0,
    extra_headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One JSON request; returns (status, parsed JSON body or the raw text)."""
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Content-Type": "application/json",
        **(extra_headers or {}),
    }
    try:
        status, _, content = request(method, url, headers, body, timeout)
    except HttpError as exc:
        raise RegistryError(str(exc)) from exc
    try:
        parsed = json.loads(content) if content else None
    except ValueError:
        parsed = content.decode("utf-8", "replace")
    return status, parsed


def quote_segment(text: str) -> str:
    """Percent-encode one URL path segment (`urllib.parse` would cost the box an import)."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode())


class Registry:
    """The platform's registry API as the box sees it."""

    def __init__(self, platform_url: str, token: str, org_id: str = "") -> None:
        self.base = platform_url.rstrip("/")
        self.token = token
        self.org_id = org_id

    @classmethod
    def for_user_data(cls, user_data: dict[str, Any]) -> Registry:
        """The registry the UserData names, as this workspace and org."""
        org_id = str(user_data.get("org_id") or "")
        return cls(user_data["platform_url"], user_data["workspace_token"], org_id)

    def headers_for(self, path: str) -> dict[str, str]:
        """The org header, except where the tenant guard does not look (or no org is known)."""
        if not self.org_id or path in GUARD_EXEMPT:
            return {}
        return {ORG_HEADER: self.org_id}

    def call(
        self, method: str, path: str, payload: Any = None, attempts: int = 1, pause_s: float = 0.2
    ) -> Any:
        """Call with retries on connection errors and 5xx; 4xx is final."""
        last, last_status = "", None
        for attempt in range(attempts):
            if attempt:
                time.sleep(pause_s)
            try:
                status, answer = http_json(
                    method,
                    self.base + path,
                    self.token,
                    payload,
                    extra_headers=self.headers_for(path),
                )
            except RegistryError as exc:
                last, last_status = str(exc), None
                continue
            if status < 300:
                return answer
            last, last_status = f"{method} {path} → HTTP {status}: {str(answer)[:300]}", status
            if status < 500:
                break
        raise RegistryError(last, last_status)

    def register(self, workspace_id: str, instance_id: str, url: str, card: dict[str, Any]) -> Any:
        body = {"id": workspace_id, "instance_id": instance_id, "url": url, "agent_card": card}
        return self.call("POST", "/registry/register", body, attempts=25)

    def heartbeat(self, workspace_id: str, instance_id: str) -> Any:
        body = {"workspace_id": workspace_id, "instance_id": instance_id}
        return self.call("POST", "/registry/heartbeat", body)

    def boot_failed(self, workspace_id: str, instance_id: str, error: str) -> Any:
        body = {"workspace_id": workspace_id, "instance_id": instance_id, "error": error}
        return self.call("POST", "/registry/boot-failed", body, attempts=25)

    def plugin(self, workspace_id: str, name: str) -> Any:
        """One installed plugin: `{"name", "source", "files": {relpath: base64}}`."""
        path = f"/registry/workspaces/{workspace_id}/plugins/{quote_segment(name)}"
        return self.call("GET", path, attempts=25)
