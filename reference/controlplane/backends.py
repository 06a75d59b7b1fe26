"""The two provisioning backends: `saas` (fresh EC2 instance per provision) and `docker`.

Both launch an EC2 instance that the fleet turns into a box; they differ in what a re-provision
delivers. `saas` stages the collected files as a secret on every provision. `docker` simulates a
self-hosted Docker host whose named config volume persists `/configs`: the first provision stages
the files, a restart (empty template path, on purpose) stages nothing and the box keeps its
`/configs` (UserData `secret_id` is null).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from reference import faults
from reference.config import StackConfig
from reference.controlplane.aws import AwsClients
from reference.controlplane.templates import secret_payload

log = logging.getLogger(__name__)

AMI_ID = "ami-00000000"
INSTANCE_TYPE = "t3.micro"
DATA_DEVICE = "/dev/sdf"
VOLUME_GIB = 1
LIVE_STATES = ["pending", "running", "stopping", "stopped"]


def secret_id_for(workspace_id: str) -> str:
    return f"molecule/workspace/{workspace_id}/config"


@dataclass
class ProvisionRequest:
    """What the CP needs to launch one generation of a workspace's box."""

    workspace_id: str
    org_id: str
    runtime: str
    tier: int
    platform_url: str
    workspace_token: str
    generation: int
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Launched:
    instance_id: str
    private_ip: str
    state: str
    volume_id: str


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Ec2Backend:
    """Shared launch logic; subclasses decide whether a provision stages files."""

    name = "saas"

    def __init__(self, config: StackConfig, aws: AwsClients) -> None:
        self.config = config
        self.aws = aws

    # -- secrets -----------------------------------------------------------------------------
    def _stage_secret(self, workspace_id: str, files: dict[str, str], exists: bool) -> bool:
        """Write the secret; True when it was created (so a rollback deletes it).

        `exists` is a hint (a re-provision) that saves the failing call of the other order.
        """
        sid = secret_id_for(workspace_id)
        payload = secret_payload(files)
        if exists:
            try:
                self.aws.secrets.put_secret_value(SecretId=sid, SecretString=payload)
                return False
            except ClientError as exc:
                if _code(exc) != "ResourceNotFoundException":
                    raise
        try:
            self.aws.secrets.create_secret(
                Name=sid,
                SecretString=payload,
                Tags=[{"Key": "WorkspaceId", "Value": workspace_id}],
            )
            return True
        except ClientError as exc:
            if _code(exc) != "ResourceExistsException":
                raise
        self.aws.secrets.put_secret_value(SecretId=sid, SecretString=payload)
        return False

    def _delete_secret(self, workspace_id: str) -> None:
        try:
            self.aws.secrets.delete_secret(
                SecretId=secret_id_for(workspace_id), ForceDeleteWithoutRecovery=True
            )
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise

    # -- volumes -----------------------------------------------------------------------------
    def workspace_volumes(self, workspace_id: str) -> list[dict[str, Any]]:
        answer = self.aws.ec2.describe_volumes(
            Filters=[
                {"Name": "tag:WorkspaceId", "Values": [workspace_id]},
                {"Name": "tag:Role", "Values": ["workspace-data"]},
            ]
        )
        volumes = [v for v in answer["Volumes"] if v["State"] not in ("deleting", "deleted")]
        return sorted(volumes, key=lambda v: v["CreateTime"])

    def _create_volume(self, workspace_id: str) -> str:
        volume = self.aws.ec2.create_volume(
            AvailabilityZone=self.config.region + "a",
            Size=VOLUME_GIB,
            TagSpecifications=[
                {
                    "ResourceType": "volume",
                    "Tags": [
                        {"Key": "WorkspaceId", "Value": workspace_id},
                        {"Key": "Role", "Value": "workspace-data"},
                    ],
                }
            ],
        )
        return str(volume["VolumeId"])

    def _delete_volume(self, volume_id: str, deadline_s: float = 30.0) -> None:
        """Delete once detached; polls the observable state with a bounded deadline."""
        end = time.monotonic() + deadline_s
        last_state = "?"
        while True:
            try:
                self.aws.ec2.delete_volume(VolumeId=volume_id)
                return
            except ClientError as exc:
                code = _code(exc)
                if code == "InvalidVolume.NotFound":
                    return
                if code != "VolumeInUse" or time.monotonic() > end:
                    raise RuntimeError(
                        f"cannot delete volume {volume_id} (last state {last_state}): {exc}"
                    ) from exc
                last_state = code
            time.sleep(0.05)

    # -- instances ---------------------------------------------------------------------------
    def _user_data(self, req: ProvisionRequest, secret_id: str | None) -> str:
        return json.dumps(
            {
                "workspace_id": req.workspace_id,
                "secret_id": secret_id,
                "platform_url": req.platform_url,
                "workspace_token": req.workspace_token,
                "backend": self.name,
                "generation": req.generation,
                "env": req.env,
            }
        )

    def _run_instance(
        self, req: ProvisionRequest, volume_id: str, user_data: str
    ) -> dict[str, Any]:
        tags = {
            "Role": "workspace",
            "WorkspaceId": req.workspace_id,
            "Name": f"ws-{req.workspace_id[:12]}",
            "Generation": str(req.generation),
            "DataVolumeId": volume_id,
            "Backend": self.name,
            "OrgId": req.org_id,
        }
        answer = self.aws.ec2.run_instances(
            ImageId=AMI_ID,
            InstanceType=INSTANCE_TYPE,
            MinCount=1,
            MaxCount=1,
            UserData=user_data,
            Placement={"AvailabilityZone": self.config.region + "a"},
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ],
        )
        return dict(answer["Instances"][0])

    def _terminate(self, instance_ids: list[str]) -> None:
        if not instance_ids:
            return
        try:
            self.aws.ec2.terminate_instances(InstanceIds=instance_ids)
        except ClientError as exc:
            if _code(exc) != "InvalidInstanceID.NotFound":
                raise

    def live_instances(self, workspace_id: str) -> list[str]:
        answer = self.aws.ec2.describe_instances(
            Filters=[
                {"Name": "tag:WorkspaceId", "Values": [workspace_id]},
                {"Name": "tag:Role", "Values": ["workspace"]},
                {"Name": "instance-state-name", "Values": LIVE_STATES},
            ]
        )
        return [i["InstanceId"] for r in answer["Reservations"] for i in r["Instances"]]

    # -- the CP operations -------------------------------------------------------------------
    def delivers(self, files: dict[str, str] | None) -> bool:
        """Whether this provision stages a secret (SaaS: always)."""
        return True

    def provision(self, req: ProvisionRequest, files: dict[str, str] | None) -> Launched:
        """Stage, get the data volume, launch, attach; on any AWS failure undo what was made."""
        created_secret = False
        created_volume: str | None = None
        old_volume: str | None = None
        instance_id: str | None = None
        try:
            secret_id: str | None = None
            if self.delivers(files):
                created_secret = self._stage_secret(
                    req.workspace_id, files or {}, exists=req.generation > 1
                )
                secret_id = secret_id_for(req.workspace_id)
            volumes = self.workspace_volumes(req.workspace_id)
            if volumes and not faults.is_on(self.config.faults, faults.FRESH_VOLUME):
                volume_id = str(volumes[0]["VolumeId"])
            else:
                old_volume = str(volumes[0]["VolumeId"]) if volumes else None
                volume_id = created_volume = self._create_volume(req.workspace_id)
            instance = self._run_instance(req, volume_id, self._user_data(req, secret_id))
            instance_id = str(instance["InstanceId"])
            self.aws.ec2.attach_volume(
                VolumeId=volume_id, InstanceId=instance_id, Device=DATA_DEVICE
            )
        except Exception:
            log.exception("provision of %s failed; rolling back", req.workspace_id)
            if instance_id:
                self._terminate([instance_id])
            if created_volume:
                self._delete_volume(created_volume)
            if created_secret:
                self._delete_secret(req.workspace_id)
            raise
        if old_volume:  # fault fresh-volume: the user's volume is thrown away
            self._delete_volume(old_volume)
        return Launched(
            instance_id=instance_id,
            private_ip=str(instance.get("PrivateIpAddress", "")),
            state=str(instance["State"]["Name"]),
            volume_id=volume_id,
        )

    def stop(self, workspace_id: str, instance_id: str | None) -> list[str]:
        """Terminate one instance of the workspace (restart), or all of them when none given."""
        live = self.live_instances(workspace_id)
        targets = [i for i in live if instance_id is None or i == instance_id]
        self._terminate(targets)
        return targets

    def purge(self, workspace_id: str) -> dict[str, list[str]]:
        """Workspace removal: every instance, the secret and the data volume(s)."""
        stopped = self.stop(workspace_id, None)
        self._delete_secret(workspace_id)
        volumes = [str(v["VolumeId"]) for v in self.workspace_volumes(workspace_id)]
        for volume_id in volumes:
            self._delete_volume(volume_id)
        return {"instances": stopped, "volumes": volumes}

    def status(self, workspace_id: str, instance_id: str) -> str | None:
        try:
            answer = self.aws.ec2.describe_instances(InstanceIds=[instance_id])
        except ClientError as exc:
            if _code(exc) in ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"):
                return None
            raise
        for reservation in answer["Reservations"]:
            for instance in reservation["Instances"]:
                tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                if tags.get("WorkspaceId") == workspace_id:
                    return str(instance["State"]["Name"])
        return None


class SaasBackend(Ec2Backend):
    """Fresh instance per provision; every provision stages the collected files."""

    name = "saas"


class DockerBackend(Ec2Backend):
    """Persistent config volume: a provision without a template stages nothing."""

    name = "docker"

    def delivers(self, files: dict[str, str] | None) -> bool:
        return files is not None


def make_backend(config: StackConfig, aws: AwsClients) -> Ec2Backend:
    if config.backend == "docker":
        return DockerBackend(config, aws)
    return SaasBackend(config, aws)
