"""platform.py: the tenant API client. Headers on every call; retries only where repeating is
harmless (GET on 5xx/transport errors; any method when the connection never opened or the
rate limiter refused it, waiting as Retry-After says, capped); every retry counted for the
workspace in the path; 410/409 mapped; DELETE confirmed by name; no token in any error.

The far side is httpx.MockTransport (the real httpx client, a fake server); tenacity's waits
are recorded instead of slept."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import tenacity

from e2e.harness import retries
from e2e.harness.platform import (
    CONFIRM_HEADER,
    MAX_RETRY_AFTER_S,
    ORG_HEADER,
    HasChildren,
    PlatformClient,
    PlatformError,
    WorkspaceGone,
)
from e2e.harness.product import ApiDrift
from e2e.harness.report import register_secret

WS = "7d3b2c1a-5e4f-4a3b-9c8d-0e1f2a3b4c5d"
ROW = {"id": WS, "name": "e2e-r1-main-gate-1", "status": "online", "tier": 2}
TOKEN = "adm-secret-token-4711"

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def naps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """tenacity's waits, recorded instead of slept (tenacity.nap.sleep calls time.sleep)."""
    waits: list[float] = []
    monkeypatch.setattr(tenacity.nap.time, "sleep", waits.append)
    return waits


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> retries.RetryLedger:
    fresh = retries.RetryLedger()
    monkeypatch.setattr(retries, "LEDGER", fresh)
    return fresh


def client(
    handler: Handler, *, token: str | None = TOKEN, org: str | None = "org-1"
) -> PlatformClient:
    return PlatformClient(
        "http://tenant.test", token, org, transport=httpx.MockTransport(handler), retry_budget_s=30
    )


def scripted(
    *answers: int | httpx.Response | Exception, body: Any = ROW
) -> tuple[Handler, list[httpx.Request]]:
    """A server answering `answers` in order (an int: that status with `body`)."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, int):
            return httpx.Response(answer, json=body)
        return answer

    return handler, seen


def test_every_call_carries_the_bearer_token_and_the_org_header() -> None:
    handler, seen = scripted(200, body={"status": "ok"})
    client(handler).health()
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers[ORG_HEADER] == "org-1"
    client(handler, token=None, org=None).health()  # refusal tests omit them
    assert "Authorization" not in seen[1].headers and ORG_HEADER not in seen[1].headers


def test_a_get_is_retried_on_5xx_and_transport_errors_and_each_retry_is_counted(
    naps: list[float], ledger: retries.RetryLedger
) -> None:
    handler, seen = scripted(httpx.ReadError("reset"), 503, httpx.ReadTimeout("slow"), 502, 200)
    row = client(handler).get_workspace(WS)
    assert row.status == "online" and len(seen) == 5
    assert ledger.of(WS) == (4, 0) and len(naps) == 4
    assert ledger.reasons["http 503"] == 1 and ledger.reasons["http ReadError"] == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("slow"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("server hung up"),
        httpx.WriteError("broken pipe"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_post_that_may_have_reached_the_server_is_never_sent_again(
    failure: Exception, naps: list[float]
) -> None:
    handler, seen = scripted(failure, 200, body={"status": "provisioning"})
    with pytest.raises(type(failure)):
        client(handler).restart(WS)
    assert len(seen) == 1 and naps == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_post_answered_5xx_is_reported_not_repeated(status: int, naps: list[float]) -> None:
    handler, seen = scripted(status, body={"error": "internal"})
    with pytest.raises(PlatformError, match=rf"^POST /workspaces → {status}: "):
        client(handler).create_workspace({"name": "n", "template": "t"})
    assert len(seen) == 1 and naps == []


@pytest.mark.parametrize("method", ["POST", "DELETE", "GET"])
@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("no SYN-ACK"), httpx.PoolTimeout("full")],
    ids=lambda e: type(e).__name__,
)
def test_any_method_is_retried_when_the_connection_never_opened(
    method: str, failure: Exception, naps: list[float], ledger: retries.RetryLedger
) -> None:
    handler, seen = scripted(failure, failure, 200, body={})
    answer = client(handler).request(method, f"/workspaces/{WS}/restart")
    assert answer.status_code == 200 and len(seen) == 3
    assert ledger.of(WS) == (2, 0)


@pytest.mark.parametrize(
    ("retry_after", "waited"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        ("86400", MAX_RETRY_AFTER_S),
        ("Wed, 21 Oct 2026 07:28:00 GMT", 1.0),
        (None, 1.0),
    ],
)
def test_a_429_is_retried_for_any_method_after_retry_after_capped(
    retry_after: str | None, waited: float, naps: list[float], ledger: retries.RetryLedger
) -> None:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    limited = httpx.Response(429, headers=headers, json={"error": "rate limited"})
    handler, seen = scripted(limited, 200, body={"status": "provisioning"})
    assert client(handler).restart(WS).status == "provisioning"
    assert len(seen) == 2 and naps == [waited]
    assert ledger.of(WS) == (1, 0) and ledger.reasons["http 429"] == 1


@pytest.mark.parametrize("method", ["GET", "DELETE", "POST"])
def test_a_429_is_retried_whatever_the_method(method: str, naps: list[float]) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "2"}, json={})
    handler, seen = scripted(limited, limited, 200, body={})
    assert client(handler).request(method, f"/workspaces/{WS}").status_code == 200
    assert [r.method for r in seen] == [method] * 3 and naps == [2.0, 2.0]


def test_when_the_retries_run_out_the_last_answer_is_reported(naps: list[float]) -> None:
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "1"}, json={}))
    with pytest.raises(PlatformError, match=r"POST /workspaces/.*/restart → 429"):
        client(handler).restart(WS)
    assert len(seen) == 6 and len(naps) == 5  # attempts=6


def test_retries_of_calls_without_a_workspace_id_are_counted_unattributed(
    naps: list[float], ledger: retries.RetryLedger
) -> None:
    handler, _ = scripted(503, 200, body=[])
    client(handler).templates()
    assert ledger.of(retries.UNATTRIBUTED) == (1, 0) and ledger.totals() == (1, 0)


def test_a_removed_workspace_is_workspace_gone() -> None:
    handler, _ = scripted(410, body={"error": "workspace removed"})
    with pytest.raises(WorkspaceGone) as info:
        client(handler).get_workspace(WS)
    assert info.value.status == 410 and isinstance(info.value, PlatformError)


def test_delete_confirms_by_name_erases_data_and_never_cascades() -> None:
    handler, seen = scripted(200, body={"status": "removed", "cascade_deleted": 0})
    removed = client(handler).delete_workspace(WS, "e2e-r1-main-gate-1 (2)")
    assert removed is not None and removed.status == "removed"
    request = seen[0]
    assert request.method == "DELETE" and request.url.path == f"/workspaces/{WS}"
    assert request.headers[CONFIRM_HEADER] == "e2e-r1-main-gate-1 (2)"
    assert request.url.params["erase_data"] == "true" and "confirm" not in request.url.params


def test_delete_with_children_is_has_children_and_already_removed_is_none() -> None:
    handler, _ = scripted(409, body={"error": "workspace has children"})
    with pytest.raises(HasChildren):
        client(handler).delete_workspace(WS, "n")
    handler, _ = scripted(410, body={"error": "gone"})
    assert client(handler).delete_workspace(WS, "n") is None
    handler, seen = scripted(400, body={"error": "destructive_action_requires_confirmation"})
    answer = client(handler).delete_workspace_response(WS, None)  # the refusal test's request
    assert answer.status_code == 400 and CONFIRM_HEADER not in seen[0].headers


def test_errors_never_show_the_token() -> None:
    register_secret(TOKEN)  # as session.connect does for the target's secrets
    handler, _ = scripted(httpx.Response(401, text=f"bad token {TOKEN} for org-1"))
    with pytest.raises(PlatformError) as info:
        client(handler).templates()
    assert TOKEN not in str(info.value) and "***" in str(info.value)
    assert "GET /templates → 401" in str(info.value)


def test_the_response_twins_send_exactly_the_happy_paths_request() -> None:
    body = {"name": "n", "template": "t", "compute": {"data_persistence": "persist"}}
    handler, seen = scripted(httpx.Response(201, json={"id": WS, "status": "provisioning"}))
    platform = client(handler)
    platform.create_workspace(body)
    platform.create_workspace_response(body)
    handler2, seen2 = scripted(200, body={"status": "installed", "plugin": "p", "source": "p"})
    client(handler2).install_plugin(WS, "local://p")
    client(handler2).install_plugin_response(WS, "local://p")
    for a, b in (seen, seen2):
        assert (a.method, a.url, a.content, dict(a.headers)) == (
            b.method,
            b.url,
            b.content,
            dict(b.headers),
        )
    assert json.loads(seen[0].content) == body


def test_events_are_parsed_and_drift_names_the_call() -> None:
    handler, _ = scripted(200, body=[{"id": "x", "event_type": "WORKSPACE_ONLINE"}])
    with pytest.raises(ApiDrift, match=r'^API drift: GET /events/:id item lacks "workspace_id"'):
        client(handler).events(WS)


def test_an_answer_without_json_is_drift_naming_the_call() -> None:
    handler, _ = scripted(httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(ApiDrift, match=r"GET /templates answered 200 with no JSON"):
        client(handler).templates()


def test_a_workspace_read_without_json_is_drift_naming_the_call() -> None:
    handler, _ = scripted(httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(ApiDrift, match=r"GET /workspaces/"):
        client(handler).get_workspace(WS)


def test_files_calls_send_root_path_and_depth_and_a_missing_file_is_none() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/files"):
            return httpx.Response(200, json=[{"path": "a.md", "size": 3, "dir": False}])
        return httpx.Response(404, json={"error": "file not found on workspace"})

    platform = client(handler)
    assert [e.path for e in platform.list_files(WS, "/configs", "prompts", 5)] == ["a.md"]
    assert dict(seen[0].url.params) == {"root": "/configs", "depth": "5", "path": "prompts"}
    assert platform.read_file(WS, "prompts/gone.md", "/configs") is None
    assert seen[1].url.params["root"] == "/configs"
