"""The reference's memo of boto3's region lookups answers what boto3 itself answers, once."""

from __future__ import annotations

import boto3.session

import reference.aws  # noqa: F401  (installs the memo)
from reference.aws import regions


def test_memoized_lookups_match_boto3_and_are_computed_once() -> None:
    fresh = boto3.session.Session()
    for service, partition in (("ec2", "aws"), ("ec2", "aws-cn"), ("secretsmanager", "aws")):
        expected = regions._original(fresh, service, partition)
        assert fresh.get_available_regions(service, partition_name=partition) == expected
        assert expected, f"botocore lists no {service} regions in {partition}"
    before = regions._regions.cache_info().misses
    boto3.session.Session().get_available_regions("ec2")
    assert regions._regions.cache_info().misses == before  # answered from the memo
    listed = boto3.session.Session().get_available_regions("ec2")
    listed.append("mutated")  # callers get their own list: the memo cannot be changed
    assert "mutated" not in boto3.session.Session().get_available_regions("ec2")
