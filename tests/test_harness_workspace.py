"""Workspace waits and bracketed verification against a scripted fake platform/EC2/SSM world:
the fresh box after a coalesced restart, a restart slipping into a verification, and the
diagnosis of the historical bug."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_harness_fakes import FakeSsm

from e2e.harness import verify as verify_module
from e2e.harness.aws import AwsClients
from e2e.harness.identity import BoxIdentity
from e2e.harness.platform import PlatformClient
from e2e.harness.settings import PROFILES, TEMPLATE_FIXTURE, RunSettings
from e2e.harness.verify import Expected, TemplateFixture, VerificationFailed, verify_box
from e2e.harness.waits import WaitTimeout
from e2e.harness.workspace import Marker, Workspace


class World:
    """One workspace; `script` is a list of platform states served one per GET."""

    def __init__(self, tmp: Path, states: list[dict[str, Any]]) -> None:
        self.states = states
        self.gets = 0
        self.events: list[dict[str, Any]] = []
        self.ssm = FakeSsm(tmp / "box", instance_id="i-1")
        self.running: list[str] = ["i-1"]
        self.ec2_calls = 0

    def current(self) -> dict[str, Any]:
        return self.states[min(self.gets, len(self.states) - 1)]

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/workspaces/w":
            state = self.current()
            self.gets += 1
            for event in state.get("emit", []):
                self.events.append({"id": len(self.events) + 1, **event})
            state = {k: v for k, v in state.items() if k != "emit"}
            self.running = [state["instance_id"]] if state.get("instance_id") else []
            self.ssm.instance_id = state.get("instance_id") or "i-none"
            return httpx.Response(200, json={"id": "w", **state})
        if path == "/events/w":
            return httpx.Response(200, json=self.events)
        if path == "/workspaces/w/plugins":
            return httpx.Response(200, json=[])
        raise AssertionError(path)

    def describe_instances(self, **kw: Any) -> dict[str, Any]:
        self.ec2_calls += 1
        return {
            "Reservations": [
                {"Instances": [{"InstanceId": i, "State": {"Name": "running"}}]}
                for i in self.running
            ]
        }


def workspace(world: World) -> Workspace:
    platform = PlatformClient("http://p", "t", "o", transport=httpx.MockTransport(world.handler))
    ec2 = type("Ec2", (), {"describe_instances": staticmethod(world.describe_instances)})()
    aws = AwsClients(ec2=ec2, ssm=world.ssm, secretsmanager=None)
    ws = Workspace(platform, aws, RunSettings(profile=PROFILES["fast"]), "ws-test")
    ws.id = "w"
    return ws


def online(iid: str, gen: int, **kw: Any) -> dict[str, Any]:
    return {
        "status": "online",
        "instance_id": iid,
        "generation": gen,
        "restart_pending": False,
        **kw,
    }


def test_fresh_box_waits_out_a_coalesced_restart(tmp_path: Path) -> None:
    restarting = {"type": "WORKSPACE_RESTARTING", "payload": {"generation": 2}}
    world = World(
        tmp_path,
        [
            {"status": "provisioning", "instance_id": "i-1", "generation": 2},
            # the first restart finished but a trigger is pending: not yet
            online("i-2", 3, restart_pending=True,
                   emit=[{"type": "WORKSPACE_ONLINE", "payload": {"instance_id": "i-2"}}]),
            {"status": "provisioning", "instance_id": "i-2", "generation": 3,
             "emit": [{"type": "WORKSPACE_RESTARTING", "payload": {"generation": 3}}]},
            online("i-3", 4,
                   emit=[{"type": "WORKSPACE_ONLINE", "payload": {"instance_id": "i-3"}}]),
        ],
    )  # fmt: skip
    world.events.append({"id": 1, **restarting})
    ws = workspace(world)
    marker = Marker(0, 0, BoxIdentity("i-1", 2))
    fresh = ws.wait_fresh_box(marker, "manual restart", restart_ids_at_trigger=[1])
    assert fresh == BoxIdentity("i-3", 4)


def test_reconcile_wait_spends_no_aws_calls_until_the_plugins_are_installed(
    tmp_path: Path,
) -> None:
    """A late reconcile is waited for with cheap platform looks: EC2 and SSM are asked only once
    the declared plugins are installed, and the box the reconcile restart made is the one."""
    world = World(
        tmp_path,
        [online("i-1", 1)] * 6
        + [{"status": "provisioning", "instance_id": "i-1", "generation": 1,
            "emit": [{"type": "PLUGIN_INSTALLED"}, {"type": "WORKSPACE_RESTARTING"}]},
           online("i-2", 2, emit=[{"type": "WORKSPACE_ONLINE"}])],
    )  # fmt: skip
    ws = workspace(world)

    def install_with_the_restart(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/workspaces/w/plugins":
            return httpx.Response(200, json=[{"name": "seo-all"}] if world.gets > 6 else [])
        return world.handler(request)

    ws.platform = PlatformClient(
        "http://p", "t", "o", transport=httpx.MockTransport(install_with_the_restart)
    )
    assert ws.wait_reconciled(["seo-all"]) is True
    assert world.gets >= 8 and world.ec2_calls == 1  # one full look: the reconciled box
    assert ws.last_observation is not None and ws.last_observation.instance_id == "i-2"


def test_verification_retries_when_a_restart_slips_in(tmp_path: Path) -> None:
    fixture = TemplateFixture.from_dir(TEMPLATE_FIXTURE)
    states = [online("i-1", 1)] + [online("i-2", 2)] * 10  # changes during the first read
    world = World(tmp_path, states)
    for rel, data in fixture.owned.items():
        (tmp_path / "box" / "configs" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "box" / "configs" / rel).write_bytes(data)
    ws = workspace(world)
    verification = verify_box(ws, Expected(fixture), "after x")
    assert verification.identity == BoxIdentity("i-2", 2)
    assert verification.ok and verification.files_checked == len(fixture.owned)


def test_historical_bug_is_diagnosed_with_stub_and_first_lines(tmp_path: Path) -> None:
    fixture = TemplateFixture.from_dir(TEMPLATE_FIXTURE)
    world = World(tmp_path, [online("i-1", 2)])
    stub = b"# built-in stub\nname: stub\n" + b"#" * 191  # 218 bytes
    (tmp_path / "box" / "configs" / "config.yaml").write_bytes(stub)
    ws = workspace(world)
    with pytest.raises(VerificationFailed) as info:
        verify_box(ws, Expected(fixture), "after manual restart 1")
    text = str(info.value)
    assert "config.yaml is the 218-byte stub; prompts missing (6 of 6)" in text
    assert "first difference at line 1" in text and "# built-in stub" in text
    assert json.dumps(len(fixture.owned["config.yaml"])) in text


def test_a_wait_timeout_on_a_replaced_box_re_brackets_onto_the_new_box(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen at 50 workspaces: SSM never came Online for a box replaced meanwhile; the wait's
    timeout must lead to the identity check (and the new box), not fail the gate."""
    fixture = TemplateFixture.from_dir(TEMPLATE_FIXTURE)
    world = World(tmp_path, [online("i-1", 1)] + [online("i-2", 2)] * 10)
    for rel, data in fixture.owned.items():
        (tmp_path / "box" / "configs" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "box" / "configs" / rel).write_bytes(data)
    real_read_box = verify_module.read_box

    def read_box(ws: Workspace, identity: BoxIdentity) -> Any:
        if identity.instance_id == "i-1":
            raise WaitTimeout("SSM PingStatus Online for i-1: last PingStatus=ConnectionLost")
        return real_read_box(ws, identity)

    monkeypatch.setattr(verify_module, "read_box", read_box)
    verification = verify_box(workspace(world), Expected(fixture), "after x")
    assert verification.identity == BoxIdentity("i-2", 2) and verification.ok
