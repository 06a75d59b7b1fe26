"""Workspace lifecycle against moto and a fake box fleet: the status machine and its events."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from reference.controlplane.backends import secret_id_for
from reference.platform.lifecycle import Conflict
from reference.platform.testing import (
    MINI_TEMPLATE,
    Eventually,
    FakeBox,
    PlatformUnderTest,
    aws_client,
    make_config,
    write_template,
)


@pytest.fixture
def put(tmp_path: Path) -> Iterator[PlatformUnderTest]:
    config = make_config(tmp_path, heartbeat_ttl_s=1.0)
    write_template(
        config.template_roots[1],
        "with-plugins",
        {**MINI_TEMPLATE, "config.yaml": "name: wp\nplugins:\n  - seo-all\n  - not-there\n"},
    )
    with PlatformUnderTest(config) as platform:
        yield platform


def types(put: PlatformUnderTest, ws_id: str) -> list[str]:
    return [e["type"] for e in put.events(ws_id)]


def live_instances(put: PlatformUnderTest, ws_id: str) -> list[str]:
    answer = aws_client(put.config, "ec2").describe_instances(
        Filters=[
            {"Name": "tag:WorkspaceId", "Values": [ws_id]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
    )
    return [i["InstanceId"] for r in answer["Reservations"] for i in r["Instances"]]


def test_create_goes_online_with_the_templates_files(put: PlatformUnderTest) -> None:
    ws_id = put.create()
    ws = put.wait_online(ws_id)
    assert types(put, ws_id) == ["WORKSPACE_PROVISIONING", "WORKSPACE_ONLINE"]
    assert ws["generation"] == 1 and ws["agent_card"]["role"] == "fake"
    assert live_instances(put, ws_id) == [ws["instance_id"]]
    online = put.events(ws_id)[-1]["payload"]
    assert online == {"generation": 1, "instance_id": ws["instance_id"]}
    configs = put.volume_of(ws_id) / "configs"
    assert (configs / "prompts/system.md").read_text() == MINI_TEMPLATE["prompts/system.md"]
    assert not (configs / "CLAUDE.md").exists()


def test_manual_restart_re_resolves_the_template(put: PlatformUnderTest) -> None:
    """The incident as a regression test: after a restart the box holds the template, no stub."""
    ws_id = put.create()
    first = put.wait_online(ws_id)
    volume = put.volume_of(ws_id)
    (volume / "configs" / "CLAUDE.md").write_text("the user's own")
    answer = put.client.post(f"/workspaces/{ws_id}/restart", json={})
    assert answer.json() == {"status": "provisioning", "restart_pending": False}
    ws = put.wait_online(ws_id, 2)
    assert ws["instance_id"] != first["instance_id"]
    assert live_instances(put, ws_id) == [ws["instance_id"]]
    assert put.volume_of(ws_id) == volume
    secret = aws_client(put.config, "secretsmanager").get_secret_value(
        SecretId=secret_id_for(ws_id)
    )
    delivered = json.loads(secret["SecretString"])["config_files"]
    assert delivered["config.yaml"] == MINI_TEMPLATE["config.yaml"]
    assert sorted(delivered) == ["config.yaml", "prompts/deep/nested.md", "prompts/system.md"]
    assert (volume / "configs" / "config.yaml").read_text() == MINI_TEMPLATE["config.yaml"]
    assert (volume / "configs" / "CLAUDE.md").read_text() == "the user's own"
    restarting = [e for e in put.events(ws_id) if e["type"] == "WORKSPACE_RESTARTING"]
    assert restarting[0]["payload"]["reason"] == "manual"
    assert restarting[0]["payload"]["instance_id"] == first["instance_id"]


def test_concurrent_restart_triggers_coalesce_into_one_more(put: PlatformUnderTest) -> None:
    ws_id = put.create()
    put.wait_online(ws_id)
    gate = threading.Event()
    assert put.fleet is not None

    def hold(_: FakeBox) -> None:
        gate.wait(10)

    put.fleet.before_register = hold
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: put.client.post(f"/workspaces/{ws_id}/restart", json={}), range(8))
        )
    assert all(a.status_code == 200 for a in answers)
    assert sum(not a.json()["restart_pending"] for a in answers) == 1
    assert put.workspace(ws_id)["restart_pending"] is True
    put.fleet.before_register = None
    gate.set()
    ws = put.wait_online(ws_id, 3)
    assert ws["generation"] == 3
    assert types(put, ws_id).count("WORKSPACE_RESTARTING") == 2
    assert len(live_instances(put, ws_id)) == 1


def test_plugin_install_restarts_and_the_box_gets_the_plugin(put: PlatformUnderTest) -> None:
    ws_id = put.create()
    put.wait_online(ws_id)
    answer = put.client.post(f"/workspaces/{ws_id}/plugins", json={"source": "local://seo-all"})
    assert answer.json() == {
        "status": "installed",
        "plugin": "seo-all",
        "source": "local://seo-all",
    }
    put.wait_online(ws_id, 2)
    plugins = put.client.get(f"/workspaces/{ws_id}/plugins").json()
    assert [p["name"] for p in plugins] == ["seo-all"]
    assert (put.volume_of(ws_id) / "configs/plugins/seo-all/plugin.yaml").is_file()
    reasons = [e["payload"].get("reason") for e in put.events(ws_id)]
    assert "plugin_install" in reasons
    # a later restart still serves it
    put.client.post(f"/workspaces/{ws_id}/restart", json={})
    put.wait_online(ws_id, 3)
    assert (put.volume_of(ws_id) / "configs/plugins/seo-all/plugin.yaml").is_file()


def test_reconcile_installs_declared_plugins_after_first_online(put: PlatformUnderTest) -> None:
    ws_id = put.create(template="with-plugins")
    ws = put.wait_online(ws_id, 2)
    assert ws["generation"] == 2
    events = put.events(ws_id)
    assert [e["type"] for e in events] == [
        "WORKSPACE_PROVISIONING",
        "WORKSPACE_ONLINE",
        "PLUGIN_INSTALLED",
        "WORKSPACE_RESTARTING",
        "WORKSPACE_ONLINE",
    ]
    assert events[3]["payload"]["reason"] == "plugin_reconcile"
    assert [p["name"] for p in put.client.get(f"/workspaces/{ws_id}/plugins").json()] == ["seo-all"]
    assert (put.volume_of(ws_id) / "configs/plugins/seo-all/plugin.yaml").is_file()
    # reconcile happens once: a manual restart does not reconcile again
    put.client.post(f"/workspaces/{ws_id}/restart", json={})
    put.wait_online(ws_id, 3)
    assert types(put, ws_id).count("PLUGIN_INSTALLED") == 1


def test_missed_heartbeats_mark_offline_then_auto_restart(put: PlatformUnderTest) -> None:
    ws_id = put.create()
    first = put.wait_online(ws_id)
    assert put.fleet is not None
    put.fleet.box(first["instance_id"]).crashed.set()
    ws = put.wait_online(ws_id, 2)
    assert ws["instance_id"] != first["instance_id"]
    events = put.events(ws_id)
    kinds = [e["type"] for e in events]
    offline = kinds.index("WORKSPACE_OFFLINE")
    assert kinds[offline + 1] == "WORKSPACE_RESTARTING"
    assert events[offline]["payload"]["reason"] == "heartbeat_ttl"
    assert events[offline + 1]["payload"]["reason"] == "crash_recovery"


def test_register_from_a_stale_instance_is_refused(put: PlatformUnderTest) -> None:
    ws_id = put.create()
    first = put.wait_online(ws_id)
    put.client.post(f"/workspaces/{ws_id}/restart", json={})
    second = put.wait_online(ws_id, 2)
    ws = put.workspace(ws_id)
    token = _token(put, ws_id)
    answer = httpx.post(
        f"{put.config.platform_url}/registry/register",
        headers={"Authorization": f"Bearer {token}"},
        json={"id": ws_id, "instance_id": first["instance_id"], "url": "", "agent_card": {}},
    )
    assert answer.status_code == 409 and "not the current instance" in answer.json()["error"]
    assert put.workspace(ws_id)["instance_id"] == second["instance_id"] == ws["instance_id"]


def test_late_register_from_the_outgoing_box_cannot_end_a_restart(put: PlatformUnderTest) -> None:
    """The race seen at 50 workspaces: the old box's register retry lands after the restart
    began but before its replacement launched, and used to emit WORKSPACE_ONLINE for the old box."""
    ws_id = put.create()
    old = put.wait_online(ws_id)["instance_id"]
    lifecycle = put.server.server.config.app.state.lifecycle  # type: ignore[union-attr]
    with lifecycle._state:  # begin the restart, but hold back the job that launches its box
        lifecycle._begin_restart(lifecycle._get(ws_id), ["manual"])
    with pytest.raises(Conflict, match="being replaced"):
        lifecycle.register(ws_id, old, "", {})
    assert put.workspace(ws_id)["status"] == "provisioning"
    lifecycle._submit(lifecycle._provision, ws_id, ["manual"])
    fresh = put.wait_online(ws_id, 2)
    assert fresh["instance_id"] != old
    online = [e["payload"] for e in put.events(ws_id) if e["type"] == "WORKSPACE_ONLINE"]
    assert online[-1] == {"generation": 2, "instance_id": fresh["instance_id"]}


def test_a_launch_is_recorded_together_with_its_instance(put: PlatformUnderTest) -> None:
    """The second race seen at 50 workspaces: the launch was recorded before the new instance
    id was stored, so a late register of the outgoing box, checked in between, passed as the
    replacement's. Recording must happen with the new id in place and under the state lock
    that `register` checks under."""
    ws_id = put.create()
    old = put.wait_online(ws_id)["instance_id"]
    lifecycle = put.server.server.config.app.state.lifecycle  # type: ignore[union-attr]
    seen: list[tuple[str, bool]] = []

    class Watched(dict):  # type: ignore[type-arg]
        def __setitem__(self, key: str, value: float) -> None:
            ws = lifecycle.store.workspace(key)
            seen.append((ws.instance_id, lifecycle._state._is_owned()))
            super().__setitem__(key, value)

    lifecycle._launched_at = Watched(lifecycle._launched_at)
    lifecycle.restart(ws_id, "manual")
    fresh = put.wait_online(ws_id, 2)
    assert seen == [(fresh["instance_id"], True)] and fresh["instance_id"] != old


def _token(put: PlatformUnderTest, ws_id: str) -> str:
    store = put.server.server.config.app.state.store if put.server else None  # type: ignore[union-attr]
    assert store is not None
    ws = store.workspace(ws_id)
    assert ws is not None
    return str(ws.token)


def test_boot_failure_marks_failed_with_the_error(put: PlatformUnderTest) -> None:
    ws_id = put.create()
    ws = put.wait_online(ws_id)
    answer = httpx.post(
        f"{put.config.platform_url}/registry/boot-failed",
        headers={"Authorization": f"Bearer {_token(put, ws_id)}"},
        json={"workspace_id": ws_id, "instance_id": ws["instance_id"], "error": "disk on fire"},
    )
    assert answer.status_code == 200
    failed = put.wait_status(ws_id, "failed")
    assert failed["last_error"] == "disk on fire"
    last = put.events(ws_id)[-1]
    assert (
        last["type"] == "WORKSPACE_PROVISION_FAILED" and last["payload"]["error"] == "disk on fire"
    )


def test_delete_leaves_nothing(put: PlatformUnderTest) -> None:
    ws_id = put.create()
    put.wait_online(ws_id)
    volume = put.volume_of(ws_id).name
    answer = put.client.delete(f"/workspaces/{ws_id}", params={"confirm": "true"})
    assert answer.json() == {"status": "removed", "id": ws_id}
    assert live_instances(put, ws_id) == []
    ec2 = aws_client(put.config, "ec2")
    assert (
        ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [volume]}])["Volumes"] == []
    )
    sm = aws_client(put.config, "secretsmanager")
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.get_secret_value(SecretId=secret_id_for(ws_id))
    assert put.workspace(ws_id)["status"] == "removed"
    assert types(put, ws_id)[-1] == "WORKSPACE_REMOVED"
    assert put.client.delete(f"/workspaces/{ws_id}", params={"confirm": "true"}).status_code == 200
    assert put.client.post(f"/workspaces/{ws_id}/restart", json={}).status_code == 409
    assert ws_id not in [w["id"] for w in put.client.get("/workspaces").json()]


def test_a_refused_re_provision_fails_naming_the_file_and_leaves_no_box(
    put: PlatformUnderTest,
) -> None:
    write_template(put.config.template_roots[1], "grows", MINI_TEMPLATE)
    ws_id = put.create(template="grows")
    put.wait_online(ws_id)
    big = put.config.template_roots[1] / "grows" / "prompts" / "huge.md"
    big.write_bytes(b"x" * (300 * 1024))
    put.client.post(f"/workspaces/{ws_id}/restart", json={})
    ws = put.wait_status(ws_id, "failed")
    assert "prompts/huge.md" in ws["last_error"] and "307200 bytes" in ws["last_error"]
    assert "'grows'" in ws["last_error"]
    assert live_instances(put, ws_id) == []
    # fixing the template and restarting recovers
    big.unlink()
    put.client.post(f"/workspaces/{ws_id}/restart", json={})
    assert put.wait_online(ws_id, 2)["status"] == "online"


def test_twenty_at_once_all_online(put: PlatformUnderTest) -> None:
    with ThreadPoolExecutor(20) as pool:
        ids = list(pool.map(lambda i: put.create(name=f"burst-{i}"), range(20)))
    for ws_id in ids:
        put.wait_online(ws_id, timeout_s=20)
    statuses = Eventually.wait(
        lambda: {w["status"] for w in put.client.get("/workspaces").json()},
        lambda s: s == {"online"},
        "all online",
    )
    assert statuses == {"online"}


@pytest.mark.parametrize(
    ("backend", "fault", "generation", "reasons", "expected"),
    [
        ("saas", None, 0, ["create"], "t"),
        ("saas", None, 3, ["manual"], "t"),
        ("saas", None, 3, ["plugin_reconcile"], "t"),
        ("saas", "restart-drops-template", 0, ["create"], "t"),
        ("saas", "restart-drops-template", 3, ["crash_recovery"], ""),
        ("saas", "reconcile-drops-template", 1, ["manual"], "t"),
        ("saas", "reconcile-drops-template", 1, ["manual", "plugin_reconcile"], ""),
        ("docker", None, 0, ["create"], "t"),
        ("docker", None, 0, ["manual"], "t"),  # first provision failed: deliver on retry
        ("docker", None, 2, ["manual"], ""),
    ],
)
def test_template_sent_to_the_cp(
    tmp_path: Path,
    backend: str,
    fault: str | None,
    generation: int,
    reasons: list[str],
    expected: str,
) -> None:
    from reference.platform.lifecycle import Lifecycle
    from reference.platform.store import Store

    config = make_config(tmp_path, backend=backend, faults_on=frozenset([fault] if fault else []))
    store = Store(config.db_path)
    ws = store.add_workspace(name="n", template="t", runtime="r", tier=1, org_id="o", token="x")
    ws = store.update(ws.id, generation=generation)
    lifecycle = Lifecycle(config, store, cp=None)  # type: ignore[arg-type]
    assert lifecycle.template_for(ws, reasons) == expected
    store.close()
