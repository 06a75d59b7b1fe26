"""find_leaks names every instance, workspace secret and volume still there (moto in-process)."""

from __future__ import annotations

import boto3
from moto import mock_aws

from e2e.harness.aws import AwsClients
from e2e.harness.leaks import find_leaks


@mock_aws
def test_leaks_are_named_and_a_clean_account_has_none() -> None:
    session = boto3.session.Session(region_name="us-east-1")
    aws = AwsClients(session.client("ec2"), session.client("ssm"), session.client("secretsmanager"))
    baseline = set(find_leaks(aws))
    aws.secretsmanager.create_secret(Name="molecule/workspace/w1/config", SecretString="{}")
    aws.secretsmanager.create_secret(Name="unrelated/secret", SecretString="{}")
    volume = aws.ec2.create_volume(
        AvailabilityZone="us-east-1a",
        Size=1,
        TagSpecifications=[
            {"ResourceType": "volume", "Tags": [{"Key": "WorkspaceId", "Value": "w1"}]}
        ],
    )["VolumeId"]
    leaks = set(find_leaks(aws)) - baseline
    assert "secret molecule/workspace/w1/config" in leaks
    assert not any("unrelated" in leak for leak in leaks)
    assert any(volume in leak and "WorkspaceId=w1" in leak for leak in leaks)
    aws.ec2.delete_volume(VolumeId=volume)
    aws.secretsmanager.delete_secret(
        SecretId="molecule/workspace/w1/config", ForceDeleteWithoutRecovery=True
    )
    assert set(find_leaks(aws)) - baseline == set()
