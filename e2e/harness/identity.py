"""Which box is a workspace's box right now, observed black-box.

The platform says `instance_id` when it does (reference); otherwise EC2 says which `running`
instance carries the workspace tag. Either way the box is only trusted once its SSM PingStatus
is Online. An observation is a snapshot; two equal identities around a check prove the check
read one box and no restart slipped in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BoxIdentity:
    instance_id: str
    generation: int | None  # reference only; None on platforms that do not say

    def __str__(self) -> str:
        gen = "?" if self.generation is None else str(self.generation)
        return f"{self.instance_id} (generation {gen})"


@dataclass
class Observation:
    """One look at a workspace: the platform's view plus EC2 and SSM for its instance."""

    status: str
    instance_id: str | None
    generation: int | None
    restart_pending: bool | None
    instance_state: str | None = None  # EC2 state of instance_id
    ping: str | None = None  # SSM PingStatus of instance_id
    running_instances: list[str] = field(default_factory=list)  # tagged + running
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def stable(self) -> bool:
        """Online, nothing pending, exactly one running box and it answers SSM."""
        return (
            self.status == "online"
            and not self.restart_pending
            and self.instance_id is not None
            and self.instance_state == "running"
            and self.ping == "Online"
            and self.running_instances in ([], [self.instance_id])
        )

    @property
    def identity(self) -> BoxIdentity | None:
        return BoxIdentity(self.instance_id, self.generation) if self.instance_id else None

    def describe(self) -> str:
        pending = "" if self.restart_pending is None else f" restart_pending={self.restart_pending}"
        others = (
            f" running={self.running_instances}"
            if self.running_instances not in ([], [self.instance_id])
            else ""
        )
        return (
            f"status={self.status} instance={self.instance_id} generation={self.generation}"
            f"{pending} ec2={self.instance_state} ssm={self.ping}{others}"
        )


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def platform_fields(workspace: dict[str, Any]) -> tuple[str, str | None, int | None, bool | None]:
    """(status, instance_id, generation, restart_pending) — the last three are optional."""
    pending = workspace.get("restart_pending")
    return (
        str(workspace.get("status")),
        workspace.get("instance_id") or None,
        _int_or_none(workspace.get("generation")),
        None if pending is None else bool(pending),
    )
