"""Heartbeats and liveness on a real reference stack, driven black-box as a box would: the
workspace token from the create answer and the instance found by its EC2 tags.

- a heartbeat from the current box while `provisioning` flips the row to `online` with no event
  at all (registry.go's inline UPDATE … CASE); the register that follows emits WORKSPACE_ONLINE;
- a box that stops beating is declared offline after the liveness TTL: WORKSPACE_OFFLINE {}, then
  an automatic restart (a fresh box) brings it back (registry/liveness.go, main.go:381-387).
"""

from __future__ import annotations

from support.tenant_api import Tenant, eventually

pytest_plugins = ["support.stack_fixtures"]


def test_a_heartbeat_while_provisioning_flips_to_online_without_an_event(
    slow_api: Tenant,
) -> None:
    created = slow_api.create("flip")
    ws_id, token = created["id"], created["auth_token"]
    [box] = eventually("the box launched", lambda: slow_api.running(ws_id), bool)
    before = slow_api.row(ws_id)
    assert before["status"] == "provisioning", "the box registered first: slow-boot too short?"

    beat = slow_api.heartbeat(ws_id, token, box)  # no org header: the guard exempts it
    assert (beat.status_code, beat.json()) == (200, {"status": "online"})
    assert slow_api.row(ws_id)["status"] == "online"
    kinds = slow_api.kinds(ws_id)
    assert kinds == ["WORKSPACE_PROVISIONING"], "the flip must emit nothing"

    registered = slow_api.wait_kinds(ws_id, lambda k: "WORKSPACE_ONLINE" in k, "the register")
    assert registered == ["WORKSPACE_PROVISIONING", "WORKSPACE_ONLINE"]
    online = slow_api.events(ws_id)[0]["payload"]
    assert set(online) == {"url", "agent_card", "delivery_mode"}


def test_heartbeats_need_the_workspaces_own_token(api: Tenant) -> None:
    """Checked before anything else, so no box is needed to see it (the product's registry
    checks the workspace's bearer; its exact messages are not documented: status only)."""
    body = {"workspace_id": api.root_id, "instance_id": "i-0123456789abcdef0"}
    wrong = api.heartbeat(api.root_id, "wst-not-mine", body["instance_id"])
    missing = api.raw.post("/registry/heartbeat", json=body)
    for answer in (wrong, missing):
        assert answer.status_code == 401 and isinstance(answer.json()["error"], str)


def test_a_silent_box_goes_offline_then_an_automatic_restart_brings_a_fresh_one(
    api: Tenant,
) -> None:
    ws_id = api.create("silent")["id"]
    api.settled(ws_id, 1)
    [box] = api.running(ws_id)
    api.ec2.terminate_instances(InstanceIds=[box])  # the box dies: no more heartbeats

    api.wait_kinds(ws_id, lambda k: "WORKSPACE_OFFLINE" in k, "offline after the TTL")
    offline = next(e for e in api.events(ws_id) if e["event_type"] == "WORKSPACE_OFFLINE")
    assert offline["payload"] == {}
    kinds = api.settled(ws_id, 2)
    assert kinds == [
        "WORKSPACE_PROVISIONING",
        "WORKSPACE_ONLINE",
        "WORKSPACE_OFFLINE",
        "WORKSPACE_PROVISIONING",
        "WORKSPACE_ONLINE",
    ]
    [fresh] = api.running(ws_id)
    assert fresh != box
