"""The tenant's workspace API on a real reference stack, as the product answers it: the guard in
front, removal (X-Confirm-Name, children, 410 afterwards, erase_data), the default parent and
name suffixes (handlers/workspace.go, workspace_crud.go, middleware/tenant_guard.go)."""

from __future__ import annotations

import uuid

from support.tenant_api import Tenant, eventually

pytest_plugins = ["support.stack_fixtures"]

MISSING_ORG = {
    "error": "missing tenant routing header",
    "code": "TENANT_ORG_HEADER_REQUIRED",
    "required_header": "X-Molecule-Org-Id",
    "detail": "SaaS tenant API requests must include X-Molecule-Org-Id matching the "
    "organization UUID.",
}


def test_the_guard_answers_400_or_an_empty_404_and_exempts_health_and_buildinfo(
    api: Tenant,
) -> None:
    bearer = {"Authorization": api.admin["Authorization"]}
    missing = api.raw.get("/workspaces", headers=bearer)
    assert (missing.status_code, missing.json()) == (400, MISSING_ORG)
    other = {**bearer, "X-Molecule-Org-Id": str(uuid.uuid4())}
    wrong = api.raw.get(f"/workspaces/{api.root_id}", headers=other)
    assert (wrong.status_code, wrong.content) == (404, b"")
    health = api.raw.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    build = api.raw.get("/buildinfo")
    assert build.status_code == 200 and set(build.json()) == {"git_sha"}
    for answer in (missing, wrong, health, build):  # the limiter runs first, on every path
        assert answer.headers["x-ratelimit-limit"] == "600"
        assert int(answer.headers["x-ratelimit-remaining"]) < 600
        assert "x-ratelimit-reset" in answer.headers


def test_admin_routes_want_the_admin_token(api: Tenant) -> None:
    org = {"X-Molecule-Org-Id": api.org}
    none = api.raw.get("/workspaces", headers=org)
    assert (none.status_code, none.json()) == (401, {"error": "admin auth required"})
    wrong = api.raw.get("/workspaces", headers={**org, "Authorization": "Bearer no"})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "invalid admin auth token"})


def test_removal_needs_the_name_then_answers_removed_and_410_afterwards(api: Tenant) -> None:
    ws_id = api.create("doomed")["id"]
    api.wait_status(ws_id, "online")
    [box] = api.running(ws_id)
    unconfirmed = api.call("DELETE", f"/workspaces/{ws_id}")
    assert unconfirmed.status_code == 400
    assert unconfirmed.json() == {
        "error": "destructive_action_requires_confirmation",
        "hint": "Re-send the same request with header X-Confirm-Name: doomed",
        "workspace_name": "doomed",
        "active_tasks": 0,
        "child_count": 0,
        "schedule_count": 0,
    }
    wrong_name = api.call("DELETE", f"/workspaces/{ws_id}", headers={"X-Confirm-Name": "Doomed"})
    assert wrong_name.status_code == 400

    done = api.delete(ws_id)
    assert (done.status_code, done.json()) == (200, {"status": "removed", "cascade_deleted": 0})
    assert api.instances(ws_id)[-1]["State"]["Name"] in ("shutting-down", "terminated")
    assert box not in api.running(ws_id)

    again = api.delete(ws_id)
    assert (again.status_code, again.json()) == (410, {"error": "workspace removed", "id": ws_id})
    gone = api.call("GET", f"/workspaces/{ws_id}")
    assert gone.status_code == 410
    assert set(gone.json()) == {"error", "id", "hint", "removed_at"}
    assert gone.json()["error"] == "workspace removed" and gone.json()["id"] == ws_id
    restart = api.call("POST", f"/workspaces/{ws_id}/restart")
    assert (restart.status_code, restart.json()) == (404, {"error": "workspace not found"})
    assert ws_id not in [row["id"] for row in api.ok("GET", "/workspaces")]
    assert api.kinds(ws_id)[-1] == "WORKSPACE_REMOVED"
    assert api.events(ws_id)[0]["payload"] == {"cascade_deleted": 0}


def test_unknown_and_malformed_ids(api: Tenant) -> None:
    unknown = str(uuid.uuid4())
    assert api.call("GET", f"/workspaces/{unknown}").json() == {"error": "workspace not found"}
    assert api.call("GET", f"/workspaces/{unknown}").status_code == 404
    bad = api.call("GET", "/workspaces/not-a-uuid")
    assert (bad.status_code, bad.json()) == (400, {"error": "invalid workspace ID"})
    assert api.ok("GET", f"/events/{unknown}") == []


def test_a_new_workspace_defaults_under_the_single_root_whose_delete_then_wants_confirm(
    api: Tenant,
) -> None:
    child = api.create("defaulted", template="over-cap")["id"]  # no box needed here
    assert api.row(child)["parent_id"] == api.root_id
    root_name = api.row(api.root_id)["name"]
    refused = api.call(
        "DELETE", f"/workspaces/{api.root_id}", headers={"X-Confirm-Name": root_name}
    )
    assert refused.status_code == 409
    body = refused.json()
    assert set(body) == {"status", "message", "children", "children_count"}
    assert body["status"] == "confirmation_required"
    assert {"id": child, "name": "defaulted"} in body["children"]
    assert body["children_count"] == len(body["children"])
    assert api.row(api.root_id)["status"] != "removed"


def test_confirm_true_removes_the_children_too(api: Tenant) -> None:
    parent = api.create("parent", template="over-cap")["id"]
    child = api.create("child", template="over-cap", parent_id=parent)["id"]
    assert api.delete(parent).status_code == 409
    done = api.delete(parent, confirm="true")
    assert (done.status_code, done.json()) == (200, {"status": "removed", "cascade_deleted": 1})
    assert api.call("GET", f"/workspaces/{child}").status_code == 410
    assert (api.kinds(child)[-1], api.events(child)[0]["payload"]) == ("WORKSPACE_REMOVED", {})
    assert api.events(parent)[0]["payload"] == {"cascade_deleted": 1}


def test_a_taken_name_is_suffixed_among_siblings(api: Tenant) -> None:
    first = api.create("twin", template="over-cap")["id"]
    second = api.create("twin", template="over-cap")["id"]
    third = api.create("twin", template="over-cap", parent_id=first)["id"]
    names = [api.row(ws)["name"] for ws in (first, second, third)]
    assert names == ["twin", "twin (2)", "twin"]
    assert api.events(second)[-1]["payload"]["name"] == "twin (2)"


def test_erase_data_removes_the_config_secret_and_the_data_volume(api: Tenant) -> None:
    persist = {"data_persistence": "persist"}
    kept = api.create("kept-data", compute=persist)["id"]
    erased = api.create("erased-data", compute=persist)["id"]
    for ws_id in (kept, erased):
        api.wait_status(ws_id, "online")
        assert api.secret_exists(ws_id) and len(api.volumes(ws_id)) == 1
    assert api.delete(kept).status_code == 200
    assert api.delete(erased, erase_data="true").status_code == 200
    assert api.secret_exists(kept) and len(api.volumes(kept)) == 1
    assert not api.secret_exists(erased)
    eventually("erased volume gone", lambda: api.volumes(erased), lambda v: v == [])
