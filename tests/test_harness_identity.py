"""identity.py: a workspace's box is found through EC2 tags (the product's API never names
it), and only trusted when it runs alone and answers SSM. The tag lookup runs against moto's
real EC2 filter semantics (wildcards, several filters ANDed, terminated instances listed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from moto import mock_aws
from support import aws

from e2e.harness.identity import BoxIdentity, Instance, Observation, filters_for
from e2e.harness.settings import DEFAULT_INSTANCE_FILTERS

WS = "7d3b2c1a-5e4f-4a3b-9c8d-0e1f2a3b4c5d"
OTHER = "7d3b2c1b-0000-4000-8000-000000000000"  # shares 7 of the 8 prefix characters


def test_filters_fill_the_id_and_its_8_character_prefix() -> None:
    assert filters_for(DEFAULT_INSTANCE_FILTERS, WS) == [
        {"Name": "tag:Name", "Values": ["ws-tenant-*-7d3b2c1a*"]},
        {"Name": "tag:Role", "Values": ["workspace"]},
    ]
    assert filters_for(" tag:WorkspaceId={id} ;; ", WS) == [
        {"Name": "tag:WorkspaceId", "Values": [WS]}
    ]
    assert filters_for("tag:WorkspaceId={id};instance-state-name=running", WS) == [
        {"Name": "tag:WorkspaceId", "Values": [WS]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]


def test_spaces_around_the_equals_sign_are_not_part_of_the_value() -> None:
    assert filters_for("tag:Role = workspace", WS) == [
        {"Name": "tag:Role", "Values": ["workspace"]}
    ]


def _launch(ec2: Any, tags: dict[str, str]) -> str:
    answer = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ],
    )
    return str(answer["Instances"][0]["InstanceId"])


def test_the_default_filters_find_this_workspaces_boxes_and_no_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # 6,000 AMIs we do not need
    with mock_aws():
        ec2 = aws.client("ec2")
        mine = _launch(ec2, {"Name": f"ws-tenant-acme-{WS[:8]}", "Role": "workspace"})
        gone = _launch(ec2, {"Name": f"ws-tenant-acme-{WS[:8]}", "Role": "workspace"})
        ec2.terminate_instances(InstanceIds=[gone])
        _launch(ec2, {"Name": f"ws-tenant-acme-{OTHER[:8]}", "Role": "workspace"})
        _launch(ec2, {"Name": f"ws-tenant-acme-{WS[:8]}", "Role": "builder"})  # not a box of ours
        _launch(ec2, {"Name": f"e2e-{WS[:8]}", "Role": "workspace"})  # not the product's name
        answer = ec2.describe_instances(Filters=filters_for(DEFAULT_INSTANCE_FILTERS, WS))
    found = {
        Instance.from_ec2(raw).instance_id: Instance.from_ec2(raw)
        for reservation in answer["Reservations"]
        for raw in reservation["Instances"]
    }
    assert set(found) == {mine, gone}
    assert found[gone].state in ("shutting-down", "terminated")  # EC2 still lists it
    assert isinstance(found[mine].launched_at, datetime)


def inst(iid: str, state: str = "running") -> Instance:
    return Instance(iid, state, datetime(2026, 6, 19, 10, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("instances", "box"),
    [
        ([inst("i-1")], "i-1"),
        ([inst("i-1", "pending")], None),  # not running yet
        ([inst("i-1", "pending"), inst("i-2")], None),  # a restart under way: which is it?
        ([inst("i-1"), inst("i-2")], None),  # two running: not one box
        ([inst("i-1", "terminated"), inst("i-2")], "i-2"),  # the dead one does not count
        ([inst("i-1", "shutting-down"), inst("i-2")], "i-2"),
        ([], None),
    ],
)
def test_the_box_is_the_one_live_instance_and_only_when_it_runs(
    instances: list[Instance], box: str | None
) -> None:
    obs = Observation("online", instances, "Online")
    assert (obs.box.instance_id if obs.box else None) == box
    assert obs.instance_id == box
    assert obs.stable is (box is not None)


@pytest.mark.parametrize("ping", ["ConnectionLost", "Inactive", "NotRegistered", None])
def test_a_box_that_does_not_answer_ssm_is_not_stable(ping: str | None) -> None:
    assert not Observation("online", [inst("i-1")], ping).stable


@pytest.mark.parametrize("status", ["provisioning", "failed", "offline", "degraded"])
def test_only_an_online_workspace_is_stable(status: str) -> None:
    assert not Observation(status, [inst("i-1")], "Online").stable


def test_the_identity_is_the_instance_and_its_launch_time() -> None:
    obs = Observation("online", [inst("i-1")], "Online")
    assert obs.identity == BoxIdentity("i-1", datetime(2026, 6, 19, 10, 0, tzinfo=UTC))
    assert obs.identity != BoxIdentity("i-1", datetime(2026, 6, 19, 10, 5, tzinfo=UTC))
    assert str(obs.identity) == "i-1 (launched 10:00:00)"
    assert obs.describe() == "status=online instances=[i-1:running] ssm=Online"
