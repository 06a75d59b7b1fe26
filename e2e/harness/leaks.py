"""Session-end leak check (embedded mode): after cleanup, nothing of ours may remain in AWS —
no running instance, no workspace secret, no workspace data volume."""

from __future__ import annotations

from e2e.harness.aws import AwsClients

SECRET_PREFIX = "molecule/workspace/"


def find_leaks(aws: AwsClients) -> list[str]:
    leaks: list[str] = []
    reservations = aws.ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running", "stopping"]}]
    ).get("Reservations", [])
    for reservation in reservations:
        for inst in reservation.get("Instances", []):
            tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
            leaks.append(
                f"instance {inst['InstanceId']} ({inst['State']['Name']}) "
                f"WorkspaceId={tags.get('WorkspaceId')}"
            )
    paginator = aws.secretsmanager.get_paginator("list_secrets")
    for page in paginator.paginate():
        for secret in page.get("SecretList", []):
            if str(secret.get("Name", "")).startswith(SECRET_PREFIX) and not secret.get(
                "DeletedDate"
            ):
                leaks.append(f"secret {secret['Name']}")
    for volume in aws.ec2.describe_volumes().get("Volumes", []):
        if volume.get("State") not in ("deleted", "deleting"):
            tags = {t["Key"]: t["Value"] for t in volume.get("Tags", [])}
            leaks.append(
                f"volume {volume['VolumeId']} ({volume.get('State')}) "
                f"WorkspaceId={tags.get('WorkspaceId')} Role={tags.get('Role')}"
            )
    return leaks
