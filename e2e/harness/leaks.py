"""What a run left in AWS after its teardown — reported, never deleted.

- embedded: the whole (private) account must be empty: no live instance, no workspace secret,
  no volume;
- staging and external: the account is shared, so only what names this run's workspaces (the
  instance lookup the run used, `molecule/workspace/<id>/config`, volumes whose Name carries the
  id) or, with a tenant per run, its org (instances `ws-tenant-<slug>-*`, secrets and volumes
  tagged `OrgID`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from e2e.harness.aws import AwsClients
from e2e.harness.identity import filters_for

SECRET_PREFIX = "molecule/workspace/"
NOT_TERMINATED = ["pending", "running", "shutting-down", "stopping", "stopped"]


def _instances(aws: AwsClients, filters: list[dict[str, Any]]) -> list[str]:
    state = {"Name": "instance-state-name", "Values": NOT_TERMINATED}
    answer = aws.ec2.describe_instances(Filters=[*filters, state])
    leaks = []
    for reservation in answer.get("Reservations", []):
        for inst in reservation.get("Instances", []):
            tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
            leaks.append(
                f"instance {inst['InstanceId']} ({inst['State']['Name']}) Name={tags.get('Name')}"
            )
    return leaks


def _volumes(aws: AwsClients, filters: list[dict[str, Any]]) -> list[str]:
    return [
        f"volume {v['VolumeId']} ({v.get('State')}) "
        + " ".join(f"{t['Key']}={t['Value']}" for t in v.get("Tags", []))
        for v in aws.ec2.describe_volumes(Filters=filters).get("Volumes", [])
        if v.get("State") not in ("deleted", "deleting")
    ]


def _secrets(aws: AwsClients, filters: list[dict[str, Any]]) -> list[str]:
    found = []
    for page in aws.secretsmanager.get_paginator("list_secrets").paginate(Filters=filters):
        found += [
            f"secret {s['Name']}"
            for s in page.get("SecretList", [])
            if str(s.get("Name", "")).startswith(SECRET_PREFIX) and not s.get("DeletedDate")
        ]
    return found


def find_leaks(aws: AwsClients) -> list[str]:
    """Embedded: anything at all (the account is the run's own)."""
    everything = _instances(aws, []) + _volumes(aws, [])
    return everything + _secrets(aws, [{"Key": "name", "Values": [SECRET_PREFIX]}])


def find_run_leaks(
    aws: AwsClients, workspace_ids: Iterable[str], instance_filters: str
) -> list[str]:
    leaks: list[str] = []
    for ws_id in workspace_ids:
        leaks += _instances(aws, filters_for(instance_filters, ws_id))
        leaks += _volumes(aws, [{"Name": "tag:Name", "Values": [f"*{ws_id}*"]}])
        leaks += _secrets(aws, [{"Key": "name", "Values": [f"{SECRET_PREFIX}{ws_id}/"]}])
    return leaks


def find_org_leaks(aws: AwsClients, slug: str, org_id: str) -> list[str]:
    by_org = [{"Name": "tag:OrgID", "Values": [org_id]}]
    return (
        _instances(aws, [{"Name": "tag:Name", "Values": [f"ws-tenant-{slug}-*"]}])
        + _volumes(aws, by_org)
        + _secrets(aws, [{"Key": "tag-value", "Values": [org_id]}])
    )
