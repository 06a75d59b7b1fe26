"""The event log and restarts on a real reference stack, as the product writes them
(handlers/events.go, workspace_restart.go): newest first, uuid ids, at most 100; lifecycle
payloads; a manual restart answers at once with its own WORKSPACE_PROVISIONING, and two of them
run two full cycles (two fresh boxes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from support.tenant_api import Tenant, eventually

pytest_plugins = ["support.stack_fixtures"]

PROVISIONING = "WORKSPACE_PROVISIONING"
FAILED = "WORKSPACE_PROVISION_FAILED"


def stamp(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["created_at"].replace("Z", "+00:00"))


def test_events_are_newest_first_uuid_ids_and_only_the_newest_100(api: Tenant) -> None:
    """104 events (a workspace whose provisions fail at once: no box), cheaply."""
    ws_id = api.create("chatty", template="over-cap")["id"]
    api.wait_status(ws_id, "failed")
    oldest = {e["id"] for e in api.events(ws_id)}
    assert len(oldest) == 2
    for n in range(51):
        api.ok("POST", f"/workspaces/{ws_id}/restart")
        api.wait_status(ws_id, "failed")  # this restart's cycle is done: the log is in order
        if n == 0:
            oldest |= {e["id"] for e in api.events(ws_id)}
    events = api.events(ws_id)
    assert len(events) == 100
    assert [e["event_type"] for e in events] == [FAILED, PROVISIONING] * 50
    assert not oldest & {e["id"] for e in events}  # the four oldest fell out of the window
    stamps = [stamp(e) for e in events]
    assert stamps == sorted(stamps, reverse=True)
    assert len({e["id"] for e in events}) == 100
    assert all(str(uuid.UUID(e["id"])) == e["id"] for e in events)


def test_lifecycle_payloads_and_no_plugin_event(api: Tenant) -> None:
    ws_id = api.create("payloads", compute={"data_persistence": "persist"})["id"]
    api.settled(ws_id, 1)
    online, provisioning = api.events(ws_id)
    assert provisioning["event_type"] == PROVISIONING
    assert provisioning["payload"] == {"name": "payloads", "tier": 4, "runtime": "claude-code"}
    assert online["event_type"] == "WORKSPACE_ONLINE"
    assert set(online["payload"]) == {"url", "agent_card", "delivery_mode"}
    assert online["payload"]["url"] == api.row(ws_id)["url"]
    assert online["payload"]["delivery_mode"] == "push"
    assert online["payload"]["agent_card"] == api.row(ws_id)["agent_card"]
    assert not [e for e in api.events(ws_id) if "instance_id" in e["payload"]]


def test_a_manual_restart_answers_at_once_and_two_run_two_full_cycles(api: Tenant) -> None:
    ws_id = api.create("restarted")["id"]
    api.settled(ws_id, 1)
    seen = {i["InstanceId"] for i in api.instances(ws_id)}
    assert len(seen) == 1

    first = api.ok("POST", f"/workspaces/{ws_id}/restart")
    second = api.ok(
        "POST", f"/workspaces/{ws_id}/restart", json={"template": "plain", "reset": True}
    )
    assert first == {"status": "provisioning", "config_dir": "existing-volume",
                     "reset_session": False}  # fmt: skip
    assert second == {"status": "provisioning", "config_dir": "plain", "reset_session": True}
    assert api.kinds(ws_id) == [PROVISIONING, "WORKSPACE_ONLINE", PROVISIONING, PROVISIONING]

    def look() -> tuple[str, int, list[str]]:
        seen.update(i["InstanceId"] for i in api.instances(ws_id))
        return api.row(ws_id)["status"], len(seen), api.running(ws_id)

    eventually(
        "two more boxes, the last one online",
        look,
        lambda o: o[0] == "online" and o[1] == 3 and len(o[2]) == 1,
    )
    kinds = api.kinds(ws_id)
    assert kinds.count(PROVISIONING) == 3 and "WORKSPACE_OFFLINE" not in kinds
    assert all(
        e["payload"] == {"name": "restarted", "tier": 4, "runtime": "claude-code"}
        for e in api.events(ws_id)
        if e["event_type"] == PROVISIONING
    )


def test_a_restart_with_a_bad_json_body_is_refused_without_a_cycle(api: Tenant) -> None:
    ws_id = api.create("bad-body", template="over-cap")["id"]
    api.wait_status(ws_id, "failed")
    answer = api.call(
        "POST",
        f"/workspaces/{ws_id}/restart",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid JSON body"})
    assert api.kinds(ws_id) == [PROVISIONING, FAILED]
