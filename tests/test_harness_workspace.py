"""workspace.py: the handle. Create persists data and registers its cleanup before the request
is sent (so a create whose answer is lost is still deleted, found by name); delete confirms
with the current name, waits out children and then the instances; a look asks EC2 and SSM
only when the workspace is online; every instance ever seen is remembered in launch order."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from support.world import TINY, WS_ID, WS_NAME, Step, World, online, provisioning

from e2e.harness import report, retries
from e2e.harness.aws import AwsClients
from e2e.harness.cleanup import Cleanup
from e2e.harness.events import ONLINE, PROVISIONING
from e2e.harness.platform import CONFIRM_HEADER, PlatformClient
from e2e.harness.settings import RunSettings
from e2e.harness.workspace import PERSIST, Workspace


class Tenant:
    """POST/GET/DELETE /workspaces as the product answers them, recording every request."""

    def __init__(self, *, create_fails: Exception | None = None, children_for: int = 0) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.requests: list[httpx.Request] = []
        self.create_fails = create_fails
        self.children_for = children_for  # DELETE answers 409 this many times first

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path, method = request.url.path, request.method
        if method == "POST" and path == "/workspaces":
            body = json.loads(request.content)
            name = body["name"] + (
                " (2)" if any(r["name"] == body["name"] for r in self.rows.values()) else ""
            )
            self.rows[WS_ID] = {"id": WS_ID, "name": name, "status": "provisioning", "tier": 2}
            if self.create_fails is not None:
                raise self.create_fails  # made, but the answer is lost
            return httpx.Response(
                201, json={"id": WS_ID, "status": "provisioning", "auth_token": "wst_tok_4711abcd"}
            )
        if method == "GET" and path == "/workspaces":
            return httpx.Response(200, json=list(self.rows.values()))
        if path == f"/workspaces/{WS_ID}":
            row = self.rows.get(WS_ID)
            if row is None or row["status"] == "removed":
                return httpx.Response(410, json={"error": "workspace removed"})
            if method == "GET":
                return httpx.Response(200, json=row)
            if method == "DELETE":
                if request.headers.get(CONFIRM_HEADER) != row["name"]:
                    return httpx.Response(
                        400, json={"error": "destructive_action_requires_confirmation"}
                    )
                if self.children_for > 0:
                    self.children_for -= 1
                    return httpx.Response(409, json={"error": "workspace has children"})
                row["status"] = "removed"
                return httpx.Response(200, json={"status": "removed", "cascade_deleted": 0})
        return httpx.Response(404, json={"error": f"no route {method} {path}"})

    def calls(self, method: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method]


class Ec2:
    """Instances tagged for the workspace; each describe advances their states once."""

    def __init__(self, *states: list[tuple[str, str]]) -> None:
        self.states = list(states)
        self.calls: list[dict[str, Any]] = []

    def describe_instances(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(kw)
        now = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        instances = [{"InstanceId": i, "State": {"Name": s}} for i, s in now]
        return {"Reservations": [{"Instances": instances}]}


def handle(
    tenant: Tenant, ec2: Ec2, **settings: Any
) -> tuple[PlatformClient, AwsClients, RunSettings]:
    platform = PlatformClient(
        "http://tenant.test", "adm", "org", transport=httpx.MockTransport(tenant.handler)
    )
    return (
        platform,
        AwsClients(ec2=ec2, ssm=None, secretsmanager=None),
        RunSettings(profile=TINY, **settings),
    )


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> retries.RetryLedger:
    fresh = retries.RetryLedger()
    monkeypatch.setattr(retries, "LEDGER", fresh)
    return fresh


def test_create_persists_data_and_sends_the_runs_runtime_model_and_secrets(
    ledger: retries.RetryLedger,
) -> None:
    tenant = Tenant()
    platform, aws, settings = handle(
        tenant, Ec2([]), runtime="claude-code", model="m-1", secrets=(("API_KEY", "sk-secret-1"),)
    )
    cleanup = Cleanup()
    ws = Workspace.create(platform, aws, settings, cleanup, "e2e-r1-main-gate-1", "tpl-1", tier=3)
    body = json.loads(tenant.calls("POST")[0].content)
    assert body == {
        "name": "e2e-r1-main-gate-1",
        "template": "tpl-1",
        "compute": PERSIST,
        "runtime": "claude-code",
        "model": "m-1",
        "secrets": {"API_KEY": "sk-secret-1"},
        "tier": 3,
    }
    assert PERSIST == {"data_persistence": "persist"}
    assert ws.id == WS_ID and ws.stats.workspace_id == WS_ID and len(cleanup) == 1
    assert report.redact("token wst_tok_4711abcd, key sk-secret-1") == "token ***, key ***"
    ledger.record_aws(
        "DescribeInstances",
        {"Filters": [{"Name": "tag:Name", "Values": [f"ws-tenant-x-{WS_ID[:8]}*"]}]},
        1,
    )
    assert ledger.of(WS_ID) == (0, 1)  # tag lookups are charged to it from now on


def test_a_create_whose_answer_was_lost_is_still_cleaned_up_by_name() -> None:
    tenant = Tenant(create_fails=httpx.ReadTimeout("answer lost"))
    platform, aws, settings = handle(tenant, Ec2([("i-1", "terminated")]))
    cleanup = Cleanup()
    with pytest.raises(httpx.ReadTimeout):
        Workspace.create(platform, aws, settings, cleanup, WS_NAME, "tpl-1")
    assert len(cleanup) == 1 and len(tenant.calls("POST")) == 1  # never sent twice
    cleanup.run()
    (delete,) = tenant.calls("DELETE")
    assert delete.headers[CONFIRM_HEADER] == WS_NAME
    assert tenant.rows[WS_ID]["status"] == "removed"


def test_delete_confirms_with_the_current_name_and_waits_for_children_then_instances() -> None:
    tenant = Tenant(children_for=2)
    tenant.rows[WS_ID] = {"id": WS_ID, "name": f"{WS_NAME} (2)", "status": "online", "tier": 2}
    ec2 = Ec2(
        [("i-1", "running")],
        [("i-1", "shutting-down")],
    )
    platform, aws, settings = handle(tenant, ec2)
    ws = Workspace(platform, aws, settings, WS_NAME)
    ws.id = WS_ID
    ws.delete()
    deletes = tenant.calls("DELETE")
    assert len(deletes) == 3  # 409, 409, 200
    assert {d.headers[CONFIRM_HEADER] for d in deletes} == {f"{WS_NAME} (2)"}
    assert all(d.url.params["erase_data"] == "true" for d in deletes)
    assert len(ec2.calls) == 2  # running, then shutting-down: no live instance left


def test_deleting_a_removed_workspace_is_a_no_op() -> None:
    tenant = Tenant()
    tenant.rows[WS_ID] = {"id": WS_ID, "name": WS_NAME, "status": "removed", "tier": 2}
    platform, aws, settings = handle(tenant, Ec2([]))
    ws = Workspace(platform, aws, settings, WS_NAME)
    ws.id = WS_ID
    ws.delete()
    assert tenant.calls("DELETE") == [] and len(tenant.calls("GET")) == 1


def test_a_look_asks_ec2_and_ssm_only_when_the_workspace_is_online() -> None:
    world = World([provisioning(PROVISIONING, running=("i-1",)), online("i-1", ONLINE)])
    ws = world.workspace()
    first = ws.observe()
    assert first.status == "provisioning" and world.ec2_calls == 0 and world.ssm.ping_calls == 0
    quick = ws.observe(candidate=False)
    assert quick.status == "online" and not quick.stable and world.ec2_calls == 0
    full = ws.observe()
    assert full.stable and full.instance_id == "i-1" and full.ping == "Online"
    assert world.ec2_calls == 1 and world.ssm.ping_calls == 1
    assert ws.last_observation is full
    assert world.filters[0] == [
        {"Name": "tag:Name", "Values": [f"ws-tenant-*-{WS_ID[:8]}*"]},
        {"Name": "tag:Role", "Values": ["workspace"]},
    ]


def test_a_removed_workspace_looks_removed() -> None:
    tenant = Tenant()
    platform, aws, settings = handle(tenant, Ec2([]))
    ws = Workspace(platform, aws, settings, WS_NAME)
    ws.id = WS_ID
    assert ws.observe().status == "removed"


def test_every_instance_seen_is_remembered_in_launch_order_and_bound_to_the_workspace(
    ledger: retries.RetryLedger,
) -> None:
    world = World(
        [
            online("i-1"),
            Step("online", running=("i-2",), pending=("i-3",)),  # i-2 lived only between looks
            online("i-3"),
        ]
    )
    ws = world.workspace()
    ws.observe()
    marker = ws.mark()
    assert marker.identity is not None and marker.identity.instance_id == "i-1"
    assert marker.instances == frozenset({"i-1"})
    ws.observe()
    ws.observe()
    assert list(ws.seen_instances) == ["i-1", "i-2", "i-3"]
    assert ws.launched_since(marker) == ["i-2", "i-3"]
    assert ws.seen_instances["i-1"].state == "terminated"
    ledger.record_aws("GetCommandInvocation", {"InstanceId": "i-2"}, 1)
    assert ledger.of(WS_ID) == (0, 1)


def test_the_stats_carry_the_workspaces_retry_counts(ledger: retries.RetryLedger) -> None:
    world = World([online("i-1")])
    ws = world.workspace()
    ledger.record_http(f"/workspaces/{WS_ID}", "503")
    ledger.record_http(f"/events/{WS_ID}", "429")
    stats = ws.close_stats()
    assert (stats.retries_http, stats.retries_aws) == (2, 0)
    ws.stats.time("wait", 1.25)
    ws.stats.time("wait", 0.5)
    assert ws.stats.timings == {"wait": 1.75}
