"""The AWS endpoint's server: connections kept alive, and a stop that idle clients cannot hold."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any, cast
from urllib.parse import urlsplit

import pytest

from reference.aws.server import AwsEndpoint, AwsMiddleware


def echo_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def endpoint() -> Iterable[AwsEndpoint]:
    server = AwsEndpoint(cast(AwsMiddleware, echo_app))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_requests_share_one_kept_alive_connection(endpoint: AwsEndpoint) -> None:
    url = urlsplit(endpoint.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    seen = []
    for body in (b"one", b"two", b"three"):
        conn.request("POST", "/", body=body)
        answer = conn.getresponse()
        assert answer.read() == body and answer.getheader("Connection") != "close"
        seen.append(conn.sock)
    assert seen[0] is not None and all(sock is seen[0] for sock in seen)
    conn.close()


def test_stop_is_prompt_with_an_idle_client_connected_and_frees_the_port(
    endpoint: AwsEndpoint,
) -> None:
    url = urlsplit(endpoint.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    conn.request("POST", "/", body=b"x")
    assert conn.getresponse().read() == b"x"  # kept alive, idle from here on
    started = time.monotonic()
    endpoint.stop()
    assert time.monotonic() - started < 2.0
    assert url.hostname is not None and url.port is not None
    with pytest.raises(OSError):
        socket.create_connection((url.hostname, url.port), timeout=1).close()
    conn.close()
