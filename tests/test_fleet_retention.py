"""Terminated instances leave the EC2 view after the fleet's retention, as on EC2.

moto alone keeps them forever, and its instance filters cost O(instances * tags): a stack that
had restarted boxes a few hundred times answered every DescribeInstances ever slower (the gate
benchmark's restarts grew from 0.9 s to 1.4 s over ten runs on one stack).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from e2e.harness.waits import wait_for


def _state(spaces: Any, instance_id: str) -> str:
    try:
        answer = spaces.ec2.describe_instances(InstanceIds=[instance_id])
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return str(answer["Reservations"][0]["Instances"][0]["State"]["Name"])


def _tags(spaces: Any, instance_id: str) -> list[Any]:
    filters = [{"Name": "resource-id", "Values": [instance_id]}]
    return list(spaces.ec2.describe_tags(Filters=filters)["Tags"])


def test_a_terminated_instance_is_forgotten_after_the_retention_and_only_it(
    workspaces: Any, aws_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws_stack.fleet.settings, "terminated_retention_s", 1.0)
    ids = []
    for _ in range(2):
        ws = workspaces.new_id()
        workspaces.put_config(ws, {"config.yaml": f"name: {ws}\n"})
        ids.append(workspaces.launch(ws, workspaces.new_volume(ws)))
    gone, kept = ids
    workspaces.terminate(gone)
    assert _state(workspaces, gone) == "terminated"  # still visible right after, as on EC2
    wait_for(
        f"{gone} forgotten",
        lambda: _state(workspaces, gone),
        lambda state: state.endswith("NotFound"),
        timeout_s=10,
        poll_s=0.05,
    )
    assert _tags(workspaces, gone) == []
    assert _state(workspaces, kept) in ("pending", "running")
    assert [t["Key"] for t in _tags(workspaces, kept)]
