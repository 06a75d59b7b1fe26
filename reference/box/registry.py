"""A tiny HTTP/1.1 JSON client for the platform's `/registry/*` calls, on bare sockets.

The agent stays in memory for the box's whole life, 50 boxes at once: `urllib`/`http.client`
pull in `ssl` and `email` (~6 MiB each process), which this avoids.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any


class RegistryError(Exception):
    """The platform could not be reached (status None) or answered with an error status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return bytes(out)


def http_json(
    method: str, url: str, token: str, payload: Any = None, timeout: float = 5.0
) -> tuple[int, Any]:
    """One request, `Connection: close`; returns (status, parsed JSON body or None)."""
    if not url.startswith("http://"):
        raise RegistryError(f"only http:// platform URLs are supported, got {url!r}")
    hostport, _, path = url[len("http://") :].partition("/")
    host, _, port = hostport.partition(":")
    body = b"" if payload is None else json.dumps(payload).encode()
    head = (
        f"{method} /{path} HTTP/1.1\r\nHost: {hostport}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: application/json\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection((host, int(port or 80)), timeout=timeout) as sock:
            sock.sendall(head + body)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        raise RegistryError(f"{method} {url}: {exc}") from exc
    raw = b"".join(chunks)
    header_blob, _, content = raw.partition(b"\r\n\r\n")
    lines = header_blob.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise RegistryError(f"{method} {url}: malformed answer {raw[:200]!r}") from None
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.decode("latin-1").partition(":") for line in lines[1:])
    }
    if headers.get("transfer-encoding", "").lower() == "chunked":
        content = _dechunk(content)
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
