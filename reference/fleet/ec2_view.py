"""A read-only snapshot of moto's in-process EC2 state, in the few fields the fleet needs.

moto's server mode keeps its backends in this process, so the fleet reads them directly instead
of polling its own HTTP endpoint. moto's models are not locked; every read copies first and a
concurrent change just means the next reconcile sees it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends


@dataclass(frozen=True)
class InstanceView:
    instance_id: str
    state: str
    tags: dict[str, str]
    user_data: bytes
    private_ip: str
    volumes: dict[str, str] = field(default_factory=dict)  # device → volume id


def _backend(region: str) -> Any:
    return ec2_backends[DEFAULT_ACCOUNT_ID][region]


def _user_data(instance: Any) -> bytes:
    raw = getattr(instance, "user_data", None)
    if raw is None:
        return b""
    if isinstance(raw, list):  # older moto kept a list
        raw = raw[0] if raw else None
        if raw is None:
            return b""
    if hasattr(raw, "as_bytes"):
        return base64.b64decode(raw.as_bytes())
    if isinstance(raw, bytes):
        return raw
    return str(raw).encode()


def workspace_instances(region: str, role: str = "workspace") -> list[InstanceView]:
    """Every instance tagged Role=<role>, in any state."""
    backend = _backend(region)
    tags_by_id = backend.tags
    views = []
    for instance in list(backend.all_instances()):
        tags = dict(tags_by_id.get(instance.id, {}))
        if tags.get("Role") != role:
            continue
        volumes = {
            device: block.volume_id for device, block in list(instance.block_device_mapping.items())
        }
        views.append(
            InstanceView(
                instance_id=instance.id,
                state=instance.state,
                tags=tags,
                user_data=_user_data(instance),
                private_ip=instance.private_ip or "",
                volumes=volumes,
            )
        )
    return views


def forget_instance(region: str, instance_id: str) -> None:
    """Drop a terminated instance from moto, as EC2 does some time after termination. moto
    never does: its instance filters are O(instances * tags), so a stack that has restarted
    boxes a few hundred times answers DescribeInstances ever slower."""
    backend = _backend(region)
    for reservation_id, reservation in list(backend.reservations.items()):
        kept = [i for i in reservation.instances if i.id != instance_id]
        if len(kept) == len(reservation.instances):
            continue
        reservation.instances = kept  # a new list: readers copying the old one are unaffected
        if not kept:
            backend.reservations.pop(reservation_id, None)
    backend.tags.pop(instance_id, None)


def volume_exists(region: str, volume_id: str) -> bool:
    return volume_id in _backend(region).volumes


def existing_volume_ids(region: str) -> set[str]:
    return set(_backend(region).volumes)
