"""PlatformClient: headers, and retries only where repeating is harmless."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from e2e.harness.platform import ORG_HEADER, PlatformClient, PlatformError
from e2e.harness.report import register_secret


def client(handler: Any, **kw: Any) -> PlatformClient:
    return PlatformClient(
        "http://platform.test", kw.pop("token", "adm-secret-token"), kw.pop("org", "org-1"),
        transport=httpx.MockTransport(handler), retry_budget_s=5, **kw,
    )  # fmt: skip


def test_sends_auth_and_org_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "ok"})

    client(handler).health()
    assert seen[0].headers["Authorization"] == "Bearer adm-secret-token"
    assert seen[0].headers[ORG_HEADER] == "org-1"
    client(handler, token=None, org=None).health()
    assert "Authorization" not in seen[1].headers and ORG_HEADER not in seen[1].headers


def test_get_retries_5xx_and_transport_errors() -> None:
    answers = iter(["boom", 503, 502, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer == "boom":
            raise httpx.ReadError("reset")
        assert isinstance(answer, int)
        return httpx.Response(answer, json={"id": "w", "status": "online"})

    assert client(handler).get_workspace("w")["status"] == "online"


def test_post_is_not_repeated_after_it_may_have_arrived() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ReadTimeout("slow")
        return httpx.Response(200, json={})

    with pytest.raises(httpx.ReadTimeout):
        client(handler).restart("w")
    assert len(calls) == 1


def test_post_retries_when_the_connection_never_opened() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ConnectError("refused")
        return httpx.Response(201, json={"id": "w", "status": "provisioning"})

    assert client(handler).create_workspace("n", "t")["id"] == "w"
    assert len(calls) == 3


def test_post_5xx_is_returned_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500, text="internal")

    with pytest.raises(PlatformError, match=r"POST /workspaces/w/restart → 500"):
        client(handler).restart("w")
    assert len(calls) == 1


def test_errors_never_show_the_token() -> None:
    register_secret("adm-secret-token")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, text="bad token adm-secret-token")

    with pytest.raises(PlatformError) as info:
        client(handler).templates()
    assert "adm-secret-token" not in str(info.value) and "***" in str(info.value)


def test_delete_treats_404_as_already_gone() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["confirm"] == "true"
        return httpx.Response(404, json={"error": "not found"})

    assert client(handler).delete_workspace("w") is False
