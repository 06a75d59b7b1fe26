"""What every request passes before routing (reference/platform/guard.py), as the product's
middleware answers it: the tenant guard (middleware/tenant_guard.go), the rate limiter
(middleware/ratelimit.go), and the `platform-5xx` fault. Expected bodies are written out
from the product's source, not imported from the module under test."""

from __future__ import annotations

import pytest
from support.asgi_apps import AsgiClient, Echo
from support.clock import FakeClock

from reference.platform.guard import BodyLimit, Flaky5xx, RateLimit, TenantGuard

ORG = "3f0f5a52-7c1e-4d35-9a37-5d8e8c7d2b10"
OTHER_ORG = "b1c9b3a0-0000-4000-8000-000000000000"
MISSING_ORG_BODY = {
    "error": "missing tenant routing header",
    "code": "TENANT_ORG_HEADER_REQUIRED",
    "required_header": "X-Molecule-Org-Id",
    "detail": "SaaS tenant API requests must include X-Molecule-Org-Id matching the "
    "organization UUID.",
}
EXEMPT = ["/health", "/buildinfo", "/metrics", "/registry/register", "/registry/heartbeat"]


def guarded() -> tuple[AsgiClient, Echo]:
    echo = Echo()
    return AsgiClient(TenantGuard(echo, org_id=ORG)), echo


def test_a_request_without_the_org_header_gets_400_tenant_org_header_required() -> None:
    client, echo = guarded()
    for headers in ({}, {"X-Molecule-Org-Id": ""}):
        answer = client.get("/workspaces", headers=headers)
        assert answer.status_code == 400
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == MISSING_ORG_BODY
    assert echo.reached == []


def test_another_orgs_id_gets_404_with_an_empty_body() -> None:
    client, echo = guarded()
    answer = client.get("/workspaces", headers={"X-Molecule-Org-Id": OTHER_ORG})
    assert answer.status_code == 404
    assert answer.content == b""
    assert answer.headers.get("content-length") == "0"
    assert echo.reached == []


def test_the_tenants_own_org_id_passes() -> None:
    client, echo = guarded()
    answer = client.post("/workspaces", headers={"X-Molecule-Org-Id": ORG})
    assert (answer.status_code, answer.json()) == (200, {"path": "/workspaces"})
    assert echo.reached == ["POST /workspaces"]


@pytest.mark.parametrize(
    "path", [*EXEMPT, "/cp/workspaces/provision", "/cp/admin/orgs", "/cp/x/y/z"]
)
def test_exempt_paths_and_cp_prefix_pass_without_any_org_header(path: str) -> None:
    client, echo = guarded()
    assert client.get(path).status_code == 200
    assert client.get(path, headers={"X-Molecule-Org-Id": OTHER_ORG}).status_code == 200
    assert echo.reached == [f"GET {path}"] * 2


@pytest.mark.parametrize(
    "path",
    [
        "/registry/boot-failed",
        "/registry/workspaces/w/plugins/p",
        "/health/x",
        "/healthz",
        "/cpx",
        "/events/w",
        "/templates",
    ],
)
def test_look_alikes_of_exempt_paths_are_guarded(path: str) -> None:
    client, echo = guarded()
    assert client.get(path).status_code == 400
    assert client.get(path, headers={"X-Molecule-Org-Id": OTHER_ORG}).status_code == 404
    assert echo.reached == []


# -- rate limit -------------------------------------------------------------------------------


def limited(limit: int = 3, window_s: float = 60.0) -> tuple[AsgiClient, Echo, FakeClock]:
    echo, clock = Echo(), FakeClock()
    return AsgiClient(RateLimit(echo, limit=limit, window_s=window_s, clock=clock)), echo, clock


def test_rate_limit_headers_are_on_every_answer_and_count_down() -> None:
    client, _, clock = limited(limit=3)
    seen = []
    for _ in range(3):
        answer = client.get("/workspaces", headers={"X-Molecule-Org-Id": ORG})
        assert answer.status_code == 200
        seen.append((answer.headers["x-ratelimit-limit"], answer.headers["x-ratelimit-remaining"]))
        assert int(answer.headers["x-ratelimit-reset"]) in range(0, 61)
        clock.advance(1)
    assert seen == [("3", "2"), ("3", "1"), ("3", "0")]


def test_past_the_limit_429_with_retry_after_and_the_products_body() -> None:
    client, echo, clock = limited(limit=2, window_s=60)
    headers = {"X-Molecule-Org-Id": ORG}
    client.get("/a", headers=headers)
    client.get("/a", headers=headers)
    clock.advance(20)
    answer = client.get("/a", headers=headers)
    assert answer.status_code == 429
    retry = int(answer.headers["retry-after"])
    assert 39 <= retry <= 40
    assert answer.json() == {"error": "rate limit exceeded", "retry_after": retry}
    assert answer.headers["x-ratelimit-remaining"] == "0"
    assert answer.headers["x-ratelimit-limit"] == "2"
    assert answer.headers["x-ratelimit-reset"] == answer.headers["retry-after"]
    assert echo.reached == ["GET /a", "GET /a"]
    clock.advance(40)  # a new window
    assert client.get("/a", headers=headers).status_code == 200


def test_the_limit_applies_to_exempt_paths_too() -> None:
    client, _, _ = limited(limit=1)
    assert client.get("/health").status_code == 200
    assert client.get("/health").status_code == 429


def test_all_clients_of_one_org_share_its_bucket_whatever_their_token() -> None:
    client, _, _ = limited(limit=2)
    a = {"X-Molecule-Org-Id": ORG, "Authorization": "Bearer one"}
    b = {"X-Molecule-Org-Id": ORG, "Authorization": "Bearer two"}
    other = {"X-Molecule-Org-Id": OTHER_ORG, "Authorization": "Bearer one"}
    assert [client.get("/x", headers=h).status_code for h in (a, b, a)] == [200, 200, 429]
    assert client.get("/x", headers=other).status_code == 200


def test_without_an_org_header_the_bearer_then_the_peer_address_is_the_key() -> None:
    client, _, _ = limited(limit=1)
    assert client.get("/x", headers={"Authorization": "Bearer one"}).status_code == 200
    assert client.get("/x", headers={"Authorization": "Bearer two"}).status_code == 200
    assert client.get("/x", headers={"Authorization": "Bearer one"}).status_code == 429
    assert client.get("/x").status_code == 200  # by address: a bucket of its own
    assert client.get("/x").status_code == 429
    elsewhere = AsgiClient(client.app, client=("10.0.0.2", 40000))
    assert elsewhere.get("/x").status_code == 200


def scope(headers: dict[str, str], client: tuple[str, int] | None = ("10.1.2.3", 5555)) -> dict:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "headers": raw, "client": client}


def test_the_key_is_org_then_bearer_hash_then_ip() -> None:
    assert RateLimit.key(scope({"X-Molecule-Org-Id": ORG, "Authorization": "Bearer t"})) == (
        f"org:{ORG}"
    )
    by_token = RateLimit.key(scope({"Authorization": "Bearer t"}))
    assert by_token.startswith("tok:") and len(by_token) == 4 + 64 and "Bearer" not in by_token
    assert RateLimit.key(scope({})) == "ip:10.1.2.3"
    assert RateLimit.key(scope({}, ("10.9.9.9", 1))) == "ip:10.9.9.9"


def test_the_limiter_runs_before_the_guard_so_refusals_carry_its_headers() -> None:
    echo = Echo()
    app = RateLimit(TenantGuard(echo, org_id=ORG), limit=5, window_s=60, clock=FakeClock())
    client = AsgiClient(app)
    missing = client.get("/workspaces")
    wrong = client.get("/workspaces", headers={"X-Molecule-Org-Id": OTHER_ORG})
    assert (missing.status_code, wrong.status_code) == (400, 404)
    assert missing.headers["x-ratelimit-limit"] == wrong.headers["x-ratelimit-limit"] == "5"
    assert wrong.content == b""


# -- platform-5xx fault and the body limit ----------------------------------------------------


def test_flaky_5xx_fails_every_third_admin_get_only() -> None:
    echo = Echo()
    client = AsgiClient(Flaky5xx(echo))
    codes = [client.get("/workspaces").status_code for _ in range(6)]
    assert codes == [200, 200, 503, 200, 200, 503]
    answer = client.get("/events/w")
    client.get("/events/w")
    answer = client.get("/events/w")
    assert answer.status_code == 503 and isinstance(answer.json()["error"], str)
    uncounted = [
        client.get("/health"),
        client.get("/registry/workspaces/w/plugins/p"),
        client.post("/workspaces"),
        client.get("/cp/admin/orgs"),
    ]
    assert all(a.status_code == 200 for a in uncounted)
    assert [client.get("/t").status_code for _ in range(3)] == [200, 200, 503]


def test_a_declared_body_over_the_limit_is_refused_with_a_json_413() -> None:
    echo = Echo()
    client = AsgiClient(BodyLimit(echo, limit=10))
    assert client.post("/x", content=b"0123456789").status_code == 200
    answer = client.post("/x", content=b"0123456789A")
    assert answer.status_code == 413 and answer.json() == {"error": "request body too large"}
    assert echo.reached == ["POST /x"]
