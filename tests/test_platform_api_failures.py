"""Provisioning that cannot succeed, on a real reference stack: the create is still 201 (the
failure is asynchronous), then status `failed` and WORKSPACE_PROVISION_FAILED saying only
"provisioning failed" (workspace_provision.go:1697-1703); and nothing is left in AWS."""

from __future__ import annotations

import pytest
from support.tenant_api import Tenant

pytest_plugins = ["support.stack_fixtures"]


@pytest.mark.parametrize(
    "template",
    [
        "over-cap",  # over the tenant's 256 KiB: the control plane is never called
        "over-secret",  # the control plane refuses a secret over Secrets Manager's 64 KiB
    ],
)
def test_a_config_set_that_cannot_be_staged_fails_after_201_and_leaves_nothing_in_aws(
    api: Tenant, template: str
) -> None:
    created = api.create(f"too-big-{template}", template=template,
                         compute={"data_persistence": "persist"})  # fmt: skip
    assert created["status"] == "provisioning"
    ws_id = created["id"]
    row = api.wait_status(ws_id, "failed")
    assert row["url"] == ""
    assert [(e["event_type"], e["payload"]) for e in reversed(api.events(ws_id))] == [
        ("WORKSPACE_PROVISIONING", {"name": f"too-big-{template}", "tier": 4,
                                    "runtime": "claude-code"}),
        ("WORKSPACE_PROVISION_FAILED", {"error": "provisioning failed"}),
    ]  # fmt: skip
    listed = next(r for r in api.ok("GET", "/workspaces") if r["id"] == ws_id)
    assert (listed["status"], listed["last_sample_error"]) == ("failed", "provisioning failed")
    assert api.instances(ws_id) == []
    assert not api.secret_exists(ws_id)
    assert api.volumes(ws_id) == []
