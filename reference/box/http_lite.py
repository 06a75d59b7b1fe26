"""HTTP/1.1 over bare sockets, for the box's few calls (platform registry, Secrets Manager).

`urllib`/`http.client` pull in `ssl` and `email` (~6 MiB per process) and boto3 costs ~0.3 s to
import and ~50 MiB to hold; fifty boxes live at once, and a box must boot in well under a second.
"""

from __future__ import annotations

import socket


class HttpError(Exception):
    """The server could not be reached or its answer could not be read."""


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


def split_url(url: str) -> tuple[str, int, str]:
    """`http://host:port/path` → (host, port, /path)."""
    if not url.startswith("http://"):
        raise HttpError(f"only http:// URLs are supported, got {url!r}")
    hostport, _, path = url[len("http://") :].partition("/")
    host, _, port = hostport.partition(":")
    return host, int(port or 80), "/" + path


def request(
    method: str, url: str, headers: dict[str, str], body: bytes = b"", timeout: float = 10.0
) -> tuple[int, dict[str, str], bytes]:
    """One request with `Connection: close`; returns (status, lower-cased headers, body)."""
    host, port, path = split_url(url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall("\r\n".join(lines).encode("latin-1") + body)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        raise HttpError(f"{method} {url}: {exc}") from exc
    raw = b"".join(chunks)
    head, _, content = raw.partition(b"\r\n\r\n")
    head_lines = head.split(b"\r\n")
    try:
        status = int(head_lines[0].split()[1])
    except (IndexError, ValueError):
        raise HttpError(f"{method} {url}: malformed answer {raw[:200]!r}") from None
    answer_headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.decode("latin-1").partition(":") for line in head_lines[1:])
    }
    if answer_headers.get("transfer-encoding", "").lower() == "chunked":
        content = _dechunk(content)
    return status, answer_headers, content
