"""The platform's `/registry/*` API as the box calls it (JSON over `http_lite`)."""

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


def http_json(
    method: str, url: str, token: str, payload: Any = None, timeout: float = 5.0
) -> tuple[int, Any]:
    """One JSON request; returns (status, parsed JSON body or the raw text)."""
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Content-Type": "application/json",
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


class Registry:
    """The platform's registry API as the box sees it."""

    def __init__(self, platform_url: str, token: str) -> None:
        self.base = platform_url.rstrip("/")
        self.token = token

    def call(
        self, method: str, path: str, payload: Any = None, attempts: int = 1, pause_s: float = 0.2
    ) -> Any:
        """Call with retries on connection errors and 5xx; 4xx is final."""
        last, last_status = "", None
        for attempt in range(attempts):
            if attempt:
                time.sleep(pause_s)
            try:
                status, answer = http_json(method, self.base + path, self.token, payload)
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

    def plugins(self, workspace_id: str) -> Any:
        return self.call("GET", f"/registry/workspaces/{workspace_id}/plugins", attempts=25)
