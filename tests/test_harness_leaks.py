"""find_leaks names every instance, workspace secret and volume still there (moto in-process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws
from support import aws as shared

from e2e.harness.aws import AwsClients
from e2e.harness.leaks import find_leaks


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsClients]:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # 6,000 AMIs nobody looks at
    with mock_aws():
        yield AwsClients(*(shared.client(s, "us-east-1") for s in ("ec2", "ssm", "secretsmanager")))


def test_leaks_are_named_and_a_clean_account_has_none(aws: AwsClients) -> None:
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
