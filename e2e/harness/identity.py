"""Which box is a workspace's box right now, observed black-box.

The product's API never names a workspace's instance: EC2 does, through the tags the control
plane puts on it (`Name = ws-tenant-<slug>-<workspace id prefix>`, `Role=workspace` by default;
`E2E_INSTANCE_FILTERS` changes the lookup). A box's identity is its EC2 instance (id and launch
time), and it is only trusted once it runs alone and its SSM PingStatus is Online. Two equal
identities around a reading prove the reading came from one box and no restart slipped in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

LIVE_STATES = ("pending", "running")
ALL_STATES = ("pending", "running", "shutting-down", "stopping", "stopped", "terminated")


@dataclass(frozen=True)
class BoxIdentity:
    instance_id: str
    launched_at: datetime | None = None

    def __str__(self) -> str:
        when = self.launched_at.strftime("%H:%M:%S") if self.launched_at else "?"
        return f"{self.instance_id} (launched {when})"


@dataclass(frozen=True)
class Instance:
    instance_id: str
    state: str
    launched_at: datetime | None

    @classmethod
    def from_ec2(cls, raw: dict[str, Any]) -> Instance:
        return cls(str(raw["InstanceId"]), str(raw["State"]["Name"]), raw.get("LaunchTime"))


def filters_for(spec: str, workspace_id: str) -> list[dict[str, Any]]:
    """`tag:Name=ws-tenant-*-{id8}*;tag:Role=workspace` → EC2 filters for this workspace.
    Placeholders: {id} (the workspace id), {id8} (its first 8 characters)."""
    out = []
    for part in (p.strip() for p in spec.split(";")):
        if not part:
            continue
        name, _, value = part.partition("=")
        out.append(
            {
                "Name": name.strip(),
                "Values": [value.strip().format(id=workspace_id, id8=workspace_id[:8])],
            }
        )
    return out


@dataclass
class Observation:
    """One look at a workspace: the platform's status, EC2's instances, SSM's ping."""

    status: str
    instances: list[Instance] = field(default_factory=list)  # tagged, pending or running
    ping: str | None = None  # SSM PingStatus of the single running instance

    @property
    def box(self) -> Instance | None:
        """The workspace's box, when exactly one instance is live and it is running."""
        live = [i for i in self.instances if i.state in LIVE_STATES]
        return live[0] if len(live) == 1 and live[0].state == "running" else None

    @property
    def stable(self) -> bool:
        """Online, one running box, and that box answers SSM."""
        return self.status == "online" and self.box is not None and self.ping == "Online"

    @property
    def identity(self) -> BoxIdentity | None:
        box = self.box
        return BoxIdentity(box.instance_id, box.launched_at) if box else None

    @property
    def instance_id(self) -> str | None:
        box = self.box
        return box.instance_id if box else None

    def describe(self) -> str:
        live = ", ".join(f"{i.instance_id}:{i.state}" for i in self.instances) or "none"
        return f"status={self.status} instances=[{live}] ssm={self.ping}"
