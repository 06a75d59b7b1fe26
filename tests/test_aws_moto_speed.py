"""moto_speed: the fast tag lookup answers exactly what moto's own lookup answers — through the
EC2 API (tag filters, DescribeTags-shaped rows) and for resources without tags."""

from __future__ import annotations

from typing import Any

import boto3
from moto import mock_aws
from moto.ec2.models.core import TaggedEC2Resource

from reference.aws import moto_speed


def _tag_rows(ec2: Any) -> list[list[dict[str, str]]]:
    backend_instances = [
        i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
    ]
    return [sorted(i.get("Tags", []), key=lambda t: t["Key"]) for i in backend_instances]


def test_the_fast_lookup_answers_as_moto_does() -> None:
    original = TaggedEC2Resource.get_tags
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        for n in range(3):
            ec2.run_instances(
                ImageId="ami-12c6146b",
                MinCount=1,
                MaxCount=1,
                TagSpecifications=[
                    {
                        "ResourceType": "instance",
                        "Tags": [
                            {"Key": "Name", "Value": f"ws-{n}"},
                            {"Key": "Role", "Value": "w"},
                        ],
                    }
                ],
            )
        ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)  # no tags
        filters = [{"Name": "tag:Name", "Values": ["ws-1"]}]
        try:
            TaggedEC2Resource.get_tags = original  # type: ignore[method-assign]
            slow = (_tag_rows(ec2), ec2.describe_instances(Filters=filters)["Reservations"])
            moto_speed.install()
            fast = (_tag_rows(ec2), ec2.describe_instances(Filters=filters)["Reservations"])
        finally:
            TaggedEC2Resource.get_tags = original  # type: ignore[method-assign]
    assert fast == slow
    assert [i["Tags"] for r in fast[1] for i in r["Instances"]] == [
        [{"Key": "Name", "Value": "ws-1"}, {"Key": "Role", "Value": "w"}]
    ]
    assert [] in fast[0]
