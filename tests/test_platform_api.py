"""Platform API: auth matrix, JSON errors with honest codes, template import, persistence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reference.platform.testing import Eventually, PlatformUnderTest, make_config


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformUnderTest]:
    """One platform for the stateless API checks (names used below are unique per test)."""
    with PlatformUnderTest(make_config(tmp_path_factory.mktemp("api")), with_fleet=False) as put:
        yield put


def _raw(put: PlatformUnderTest) -> httpx.Client:
    return httpx.Client(base_url=put.config.platform_url, timeout=10)


ADMIN_CALLS = [
    ("GET", "/templates"),
    ("POST", "/templates/import"),
    ("GET", "/workspaces"),
    ("POST", "/workspaces"),
    ("GET", "/workspaces/some-id"),
    ("DELETE", "/workspaces/some-id"),
    ("POST", "/workspaces/some-id/restart"),
    ("POST", "/workspaces/some-id/plugins"),
    ("GET", "/workspaces/some-id/plugins"),
    ("GET", "/events/some-id"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
def test_auth_matrix(platform: PlatformUnderTest, method: str, path: str) -> None:
    cfg = platform.config
    org = {"X-Molecule-Org-Id": cfg.org_id}
    good = {"Authorization": f"Bearer {cfg.admin_token}"}
    cases = [
        ({}, 404),  # no org: the tenant is hidden, before auth
        (good, 404),
        ({**good, "X-Molecule-Org-Id": "00000000-0000-0000-0000-000000000000"}, 404),
        (org, 401),  # org but no token
        ({**org, "Authorization": "Bearer wrong"}, 401),
        ({**org, "Authorization": cfg.admin_token}, 401),  # not a Bearer
        ({**org, "Authorization": f"Bearer {cfg.cp_secret}"}, 401),  # the CP secret is not admin
    ]
    with _raw(platform) as client:
        for headers, status in cases:
            answer = client.request(method, path, headers=headers, json={})
            assert answer.status_code == status, (headers, answer.text)
            assert "error" in answer.json()
        authorised = client.request(method, path, headers={**good, **org}, json={})
        assert authorised.status_code not in (401, 404) or "some-id" in path


def test_health_and_openapi_are_open(platform: PlatformUnderTest) -> None:
    with _raw(platform) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/openapi.json").status_code == 200


def test_docker_backend_needs_no_org_header(tmp_path: Path) -> None:
    config = make_config(tmp_path, backend="docker")
    with PlatformUnderTest(config, with_fleet=False) as put, _raw(put) as client:
        token = {"Authorization": f"Bearer {put.config.admin_token}"}
        assert client.get("/templates", headers=token).status_code == 200
        assert client.get("/templates").status_code == 401


def test_registry_takes_the_workspace_token_not_the_admin_token(
    platform: PlatformUnderTest,
) -> None:
    ws_id = platform.create()
    body = {"workspace_id": ws_id, "instance_id": "i-1"}
    with _raw(platform) as client:
        for headers in ({}, {"Authorization": f"Bearer {platform.config.admin_token}"}):
            answer = client.post("/registry/heartbeat", json=body, headers=headers)
            assert answer.status_code == 401, answer.text


def test_cp_mount_takes_the_cp_secret(platform: PlatformUnderTest) -> None:
    with _raw(platform) as client:
        admin = {"Authorization": f"Bearer {platform.config.admin_token}"}
        answer = client.get("/cp/workspaces/x/status?instance_id=i-1", headers=admin)
        assert answer.status_code == 401


def test_errors_are_json_with_honest_codes(platform: PlatformUnderTest) -> None:
    c = platform.client
    bad_json = c.post("/workspaces", content=b"{nope", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and "malformed JSON" in bad_json.json()["error"]
    missing = c.post("/workspaces", json={"template": "mini"})
    assert missing.status_code == 422 and "name" in missing.json()["error"]
    unknown_tpl = c.post("/workspaces", json={"name": "a", "template": "nope"})
    assert unknown_tpl.status_code == 422 and "'nope'" in unknown_tpl.json()["error"]
    assert c.get("/workspaces/nope").status_code == 404
    assert c.get("/events/nope").status_code == 404
    assert c.get("/no/such/route").json() == {"error": "Not Found"}
    ws_id = platform.create(name="dup")
    taken = c.post("/workspaces", json={"name": "dup", "template": "mini"})
    assert taken.status_code == 409 and "dup" in taken.json()["error"]
    no_confirm = c.delete(f"/workspaces/{ws_id}")
    assert no_confirm.status_code == 400 and "confirm=true" in no_confirm.json()["error"]
    bad_plugin = c.post(f"/workspaces/{ws_id}/plugins", json={"source": "https://x"})
    assert bad_plugin.status_code == 422 and "local://" in bad_plugin.json()["error"]
    missing_plugin = c.post(f"/workspaces/{ws_id}/plugins", json={"source": "local://nope"})
    assert missing_plugin.status_code == 422 and "not found" in missing_plugin.json()["error"]


def test_create_refuses_an_oversize_template_naming_file_and_size(
    platform: PlatformUnderTest,
) -> None:
    files = {"config.yaml": "name: big\n", "prompts/huge.md": "x" * (256 * 1024 + 5)}
    imported = platform.client.post("/templates/import", json={"name": "big", "files": files})
    assert imported.status_code == 413, imported.text
    files["prompts/huge.md"] = "x" * 40000
    files["prompts/huge2.md"] = "y" * 40000
    assert (
        platform.client.post("/templates/import", json={"name": "big", "files": files}).status_code
        == 201
    )
    answer = platform.client.post("/workspaces", json={"name": "w", "template": "big"})
    assert answer.status_code == 413
    body = answer.json()
    assert body["template"] == "big" and body["file"] in ("prompts/huge.md", "prompts/huge2.md")
    assert "65536" in body["error"] and body["size"] > 65536
    assert "w" not in [ws["name"] for ws in platform.client.get("/workspaces").json()]


# -- template import ----------------------------------------------------------------------------
def test_import_then_list(platform: PlatformUnderTest) -> None:
    files = {"config.yaml": "runtime: hermes\n", "./prompts//a.md": "a"}
    answer = platform.client.post("/templates/import", json={"name": " My_Agent ", "files": files})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "imported" and body["name"] == "my-agent" and body["id"]
    on_disk = platform.config.imported_templates_dir / "my-agent"
    assert (on_disk / "prompts" / "a.md").read_text() == "a"
    listed = {t["name"]: t for t in platform.client.get("/templates").json()}
    assert listed["my-agent"]["runtime"] == "hermes" and listed["my-agent"]["id"] == body["id"]
    assert listed["mini"]["source"] == "builtin"
    again = platform.client.post("/templates/import", json={"name": "my-agent", "files": files})
    assert again.status_code == 409 and "already exists" in again.json()["error"]
    ws = platform.client.post("/workspaces", json={"name": "by-id", "template": body["id"]})
    assert ws.status_code == 201 and ws.json()["template"] == "my-agent"


@pytest.mark.parametrize(
    ("name", "files", "status", "fragment"),
    [
        ("../evil", {"config.yaml": "a: 1"}, 422, "invalid"),
        ("", {"config.yaml": "a: 1"}, 422, "name"),
        ("ok", {"/etc/passwd": "x"}, 422, "absolute"),
        ("ok", {"prompts/../../x": "x"}, 422, "'..'"),
        ("ok", {"prompts\\a.md": "x"}, 422, "backslash"),
        ("ok", {"a.md": "x", "./a.md": "y"}, 422, "duplicates"),
        ("ok", {"prompts/": "x"}, 422, "does not name a file"),
        ("ok", {}, 422, "no files"),
        ("ok", {f"prompts/{i}.md": "x" for i in range(201)}, 413, "limit of 200"),
        ("ok", {"prompts/a.md": "x" * (256 * 1024 + 1)}, 413, "'prompts/a.md' is 262145 bytes"),
        ("ok", {"config.yaml": "a: [1,\n"}, 422, "not valid YAML at line"),
        ("ok", {"config.yaml": 5}, 422, "files.config.yaml"),
    ],
)
def test_import_refusals_say_what_and_where(
    platform: PlatformUnderTest, name: str, files: dict[str, object], status: int, fragment: str
) -> None:
    answer = platform.client.post("/templates/import", json={"name": name, "files": files})
    assert answer.status_code == status, answer.text
    assert fragment in answer.json()["error"]
    root = platform.config.imported_templates_dir
    leftovers = [p.name for p in root.glob("*")] if root.exists() else []
    assert not [n for n in leftovers if n == "ok" or n.startswith(".ok.")], leftovers


def test_200_files_is_fine(platform: PlatformUnderTest) -> None:
    files = {f"prompts/{i}.md": "x" for i in range(200)}
    answer = platform.client.post("/templates/import", json={"name": "many", "files": files})
    assert answer.status_code == 201


# -- persistence --------------------------------------------------------------------------------
def test_a_platform_restart_loses_no_workspace_template_or_event(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with PlatformUnderTest(config) as put:
        imported = put.client.post(
            "/templates/import",
            json={"name": "kept", "files": {"config.yaml": "name: kept\n", "prompts/p.md": "p"}},
        ).json()
        ws_id = put.create(template="kept", name="survivor")
        put.wait_online(ws_id)
        events_before = put.events(ws_id)
        ws_before = put.workspace(ws_id)
        put.stop_platform()
        put.start_platform()
        assert put.workspace(ws_id)["status"] == "online"
        assert {k: v for k, v in put.workspace(ws_id).items() if k != "updated_at"} == {
            k: v for k, v in ws_before.items() if k != "updated_at"
        }
        assert put.events(ws_id)[: len(events_before)] == events_before
        names = {t["name"]: t["id"] for t in put.client.get("/templates").json()}
        assert names["kept"] == imported["id"]
        # the restarted platform still drives the workspace
        put.client.post(f"/workspaces/{ws_id}/restart", json={})
        assert put.wait_online(ws_id, ws_before["generation"] + 1)["status"] == "online"


def test_a_platform_restart_mid_provision_resumes_the_workspace(tmp_path: Path) -> None:
    """The process dies before the box registers; the next process provisions it again."""
    import threading

    config = make_config(tmp_path)
    with PlatformUnderTest(config) as put:
        assert put.fleet is not None
        gate = threading.Event()
        put.fleet.before_register = lambda _box: gate.wait(10)
        ws_id = put.create(name="interrupted")
        first = Eventually.wait(
            lambda: put.workspace(ws_id), lambda w: w["instance_id"], "the first launch"
        )
        assert first["status"] == "provisioning"
        put.stop_platform()
        put.fleet.before_register = None
        put.start_platform()
        gate.set()  # the first box now registers against the new process: it is stale
        ws = put.wait_online(ws_id, 2)
        assert ws["instance_id"] != first["instance_id"]
        assert put.client.post(f"/workspaces/{ws_id}/restart", json={}).status_code == 200


def test_a_crash_seen_by_a_dead_process_is_still_recovered(tmp_path: Path) -> None:
    """Offline in the store but no restart yet: the next process restarts the box."""
    from reference.platform.store import Store

    config = make_config(tmp_path)
    with PlatformUnderTest(config) as put:
        ws_id = put.create(name="crashed-while-down")
        before = put.wait_online(ws_id)
        put.stop_platform()
        store = Store(config.db_path)
        store.update(ws_id, status="offline", busy=0)
        store.close()
        put.start_platform()
        after = put.wait_online(ws_id, before["generation"] + 1)
        assert after["instance_id"] != before["instance_id"]
        restarts = [e for e in put.events(ws_id) if e["type"] == "WORKSPACE_RESTARTING"]
        assert restarts[-1]["payload"]["reason"] == "crash_recovery"


def test_auth_is_checked_before_the_body_is_parsed(platform: PlatformUnderTest) -> None:
    with _raw(platform) as client:
        org = {"X-Molecule-Org-Id": platform.config.org_id, "content-type": "application/json"}
        answer = client.post("/workspaces", content=b"{broken", headers=org)
        assert answer.status_code == 401, answer.text


def test_an_oversize_body_is_refused_before_it_is_read() -> None:
    import asyncio

    from reference.platform.auth import BodyLimit

    sent: list[dict[str, object]] = []

    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the app must not see an oversize request")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "headers": [(b"content-length", b"1001")], "path": "/x"}
    asyncio.run(BodyLimit(app, limit=1000)(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 413
    assert b"1001 bytes over 1000" in sent[1]["body"]  # type: ignore[operator]
