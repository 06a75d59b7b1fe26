"""Launching and stopping boxes: `saas` (a fresh EC2 instance per provision) and `docker`.

`saas`: each provision stages the config secret (when the tenant sent config_files), launches a
fresh instance tagged as the product tags them (`Name=ws-tenant-<slug>-<id prefix>`,
`Role=workspace`), and, for a workspace that persists data, attaches its data volume, whose
snapshot the next box restores. `docker` simulates a self-hosted Docker host whose named
config volume keeps `/configs`: every provision attaches it, and a restart stages nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from reference import faults
from reference.common.aws_clients import AwsClients
from reference.config import StackConfig
from reference.controlplane.staging import (
    apply_faults,
    check_size,
    secret_id_for,
    secret_payload,
)

log = logging.getLogger(__name__)

AMI_ID = "ami-00000000"
INSTANCE_TYPE = "t3.micro"
DATA_DEVICE = "/dev/sdf"
VOLUME_GIB = 1
ID_PREFIX = 8  # characters of the workspace id in the instance's Name tag


def instance_name(slug: str, workspace_id: str) -> str:
    return f"ws-tenant-{slug}-{workspace_id[:ID_PREFIX]}"


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def instance_tags(slug: str, workspace_id: str) -> list[dict[str, str]]:
    """The two tags the product's control plane puts on a workspace's box."""
    return tag_list({"Name": instance_name(slug, workspace_id), "Role": "workspace"})


def volume_name(slug: str, workspace_id: str) -> str:
    return f"ws-data-tenant-{slug}-{workspace_id}"


@dataclass
class ProvisionRequest:
    workspace_id: str
    org_id: str
    runtime: str
    tier: int
    platform_url: str
    data_persistence: str
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] | None = None  # None: the tenant sent no config_files


@dataclass
class Launched:
    instance_id: str
    private_ip: str
    state: str


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Ec2Backend:
    name = "saas"

    def __init__(
        self, config: StackConfig, aws: AwsClients, slug_of: Callable[[str], str] | None = None
    ) -> None:
        self.config = config
        self.aws = aws
        # the tenant slug of an org (its boxes' Name tag); one tenant: the stack's own
        self.slug_of = slug_of or (lambda _org_id: config.tenant_slug)

    def wants_volume(self, req: ProvisionRequest) -> bool:
        return req.data_persistence == "persist"

    # -- secrets -----------------------------------------------------------------------------
    def _stage_secret(self, req: ProvisionRequest, files: dict[str, bytes]) -> None:
        sid = secret_id_for(req.workspace_id)
        payload = secret_payload(apply_faults(files, self.config.faults))
        check_size(req.workspace_id, payload)
        try:
            self.aws.secrets.put_secret_value(SecretId=sid, SecretString=payload)
            return
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
        self.aws.secrets.create_secret(
            Name=sid, SecretString=payload, Tags=[{"Key": "OrgID", "Value": req.org_id}]
        )

    def delete_secret(self, workspace_id: str) -> None:
        try:
            self.aws.secrets.delete_secret(
                SecretId=secret_id_for(workspace_id), ForceDeleteWithoutRecovery=True
            )
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise

    # -- volumes -----------------------------------------------------------------------------
    def volumes(self, workspace_id: str) -> list[str]:
        answer = self.aws.ec2.describe_volumes(
            Filters=[{"Name": "tag:Name", "Values": [volume_name("*", workspace_id)]}]
        )
        live = [v for v in answer["Volumes"] if v["State"] not in ("deleting", "deleted")]
        return [str(v["VolumeId"]) for v in sorted(live, key=lambda v: v["CreateTime"])]

    def _create_volume(self, req: ProvisionRequest) -> str:
        tags = {
            "Name": volume_name(self.slug_of(req.org_id), req.workspace_id),
            "Role": "workspace-data",
            "OrgID": req.org_id,
        }
        volume = self.aws.ec2.create_volume(
            AvailabilityZone=self.config.region + "a",
            Size=VOLUME_GIB,
            TagSpecifications=[
                {
                    "ResourceType": "volume",
                    "Tags": tag_list(tags),
                }
            ],
        )
        return str(volume["VolumeId"])

    def delete_volume(self, volume_id: str, deadline_s: float = 120.0) -> None:
        """Delete once detached; polls the observable state with a bounded deadline. The poll
        backs off (50 ms → 1 s): a box that takes long to stop under a 200-workspace burst
        was being asked every 50 ms, and 30 s were not always enough."""
        end = time.monotonic() + deadline_s
        pause_s = 0.05
        while True:
            try:
                self.aws.ec2.delete_volume(VolumeId=volume_id)
                return
            except ClientError as exc:
                code = _code(exc)
                if code == "InvalidVolume.NotFound":
                    return
                if code != "VolumeInUse" or time.monotonic() > end:
                    raise RuntimeError(f"cannot delete volume {volume_id}: {exc}") from exc
            time.sleep(pause_s)
            pause_s = min(1.0, pause_s * 1.5)

    # -- instances ---------------------------------------------------------------------------
    def _user_data(self, req: ProvisionRequest, secret_id: str | None) -> str:
        env = dict(req.env)
        token = env.pop("MOLECULE_WORKSPACE_TOKEN", "")
        return json.dumps(
            {
                "workspace_id": req.workspace_id,
                "org_id": req.org_id,
                "platform_url": req.platform_url,
                "workspace_token": token,
                "backend": self.name,
                "secret_id": secret_id,
                "data_persistence": "persist" if self.wants_volume(req) else req.data_persistence,
                "env": env,
            }
        )

    def _run_instance(self, req: ProvisionRequest, user_data: str) -> dict[str, Any]:
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
                    "Tags": instance_tags(self.slug_of(req.org_id), req.workspace_id),
                }
            ],
        )
        return dict(answer["Instances"][0])

    def terminate(self, instance_ids: list[str]) -> None:
        if not instance_ids:
            return
        try:
            self.aws.ec2.terminate_instances(InstanceIds=instance_ids)
        except ClientError as exc:
            if _code(exc) not in ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"):
                raise

    # -- the CP operations -------------------------------------------------------------------
    def provision(self, req: ProvisionRequest) -> Launched:
        """Stage, find the data volume, launch, attach; on any AWS failure undo what was made."""
        created_volume: str | None = None
        old_volumes: list[str] = []
        instance_id: str | None = None
        try:
            secret_id: str | None = None
            if req.files is not None:
                self._stage_secret(req, req.files)
                secret_id = secret_id_for(req.workspace_id)
            volume_id: str | None = None
            if self.wants_volume(req):
                existing = self.volumes(req.workspace_id)
                if existing and not faults.is_on(self.config.faults, faults.FRESH_VOLUME):
                    volume_id = existing[0]
                else:
                    old_volumes = existing
                    volume_id = created_volume = self._create_volume(req)
            instance = self._run_instance(req, self._user_data(req, secret_id))
            instance_id = str(instance["InstanceId"])
            if volume_id:
                self.aws.ec2.attach_volume(
                    VolumeId=volume_id, InstanceId=instance_id, Device=DATA_DEVICE
                )
        except Exception:
            log.exception("provision of %s failed; rolling back", req.workspace_id)
            if instance_id:
                self.terminate([instance_id])
            if created_volume:
                self.delete_volume(created_volume)
            raise
        for old in old_volumes:  # fault fresh-volume: the workspace's data is thrown away
            self.delete_volume(old)
        return Launched(
            instance_id=instance_id,
            private_ip=str(instance.get("PrivateIpAddress", "")),
            state=str(instance["State"]["Name"]),
        )

    def stop(self, workspace_id: str, instance_id: str, prune: bool) -> dict[str, list[str]]:
        """Terminate the instance; `prune` also deletes the workspace's data and secret."""
        self.terminate([instance_id] if instance_id else [])
        if not prune:
            return {"instances": [instance_id] if instance_id else [], "volumes": []}
        self.delete_secret(workspace_id)
        volumes = self.volumes(workspace_id)
        for volume_id in volumes:
            self.delete_volume(volume_id)
        return {"instances": [instance_id] if instance_id else [], "volumes": volumes}

    def purge_org(self, slug: str, org_id: str) -> dict[str, list[str]]:
        """A tenant's removal: every instance named for it, every secret and volume tagged
        with its org."""
        live = ["pending", "running", "stopping", "stopped"]
        answer = self.aws.ec2.describe_instances(
            Filters=[
                {"Name": "tag:Name", "Values": [f"ws-tenant-{slug}-*"]},
                {"Name": "instance-state-name", "Values": live},
            ]
        )
        instances = [i["InstanceId"] for r in answer["Reservations"] for i in r["Instances"]]
        self.terminate(instances)
        by_org = [{"Name": "tag:OrgID", "Values": [org_id]}]
        volumes = [v["VolumeId"] for v in self.aws.ec2.describe_volumes(Filters=by_org)["Volumes"]]
        for volume_id in volumes:
            self.delete_volume(volume_id)
        secrets: list[str] = []
        for page in self.aws.secrets.get_paginator("list_secrets").paginate(
            Filters=[{"Key": "tag-value", "Values": [org_id]}]
        ):
            secrets += [s["Name"] for s in page["SecretList"]]
        for name in secrets:
            self.aws.secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        return {"instances": instances, "volumes": volumes, "secrets": secrets}


class DockerBackend(Ec2Backend):
    """A persistent config volume attached to every box of the workspace."""

    name = "docker"

    def wants_volume(self, req: ProvisionRequest) -> bool:
        return True


def make_backend(
    config: StackConfig, aws: AwsClients, slug_of: Callable[[str], str] | None = None
) -> Ec2Backend:
    kind = DockerBackend if config.backend == "docker" else Ec2Backend
    return kind(config, aws, slug_of)
