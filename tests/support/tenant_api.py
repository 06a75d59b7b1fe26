"""`Tenant`: a client that speaks to a running reference stack as the harness speaks to a
tenant (admin token and org header; AWS read black-box, boxes found by their EC2 tags), and the
waits the API tests use: `eventually` (poll to a deadline) and `stays` (a bounded observation)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from e2e.harness.waits import wait_for
from support import aws as support_aws

T = TypeVar("T")


def eventually(
    what: str, probe: Callable[[], T], ok: Callable[[T], bool], timeout_s: float = 30
) -> T:
    """Poll until `ok(probe())`, failing with the last observation (the harness's own wait)."""
    return wait_for(what, probe, ok, timeout_s=timeout_s, poll_s=0.02).value


def stays(what: str, probe: Callable[[], T], ok: Callable[[T], bool], for_s: float) -> T:
    """`ok(probe())` holds at every look for `for_s`: the bounded observation behind an "and
    nothing more happens" assertion (fails at the first look where it does not hold)."""
    end = time.monotonic() + for_s
    pause = threading.Event()
    while True:
        value = probe()
        assert ok(value), f"{what}: no longer true: {value!r}"
        if time.monotonic() >= end:
            return value
        pause.wait(0.05)


class Tenant:
    """The tenant API of a served stack, with the admin token and the org header."""

    def __init__(self, info: dict[str, str]) -> None:
        self.info = info
        self.url = info["platform_url"]
        self.org = info["org_id"]
        self.admin = {
            "Authorization": f"Bearer {info['admin_token']}",
            "X-Molecule-Org-Id": self.org,
        }
        self.http = httpx.Client(base_url=self.url, headers=self.admin, timeout=30)
        self.raw = httpx.Client(base_url=self.url, timeout=30)  # sends only what a test gives
        self.root_id = ""
        self.created: list[str] = []  # ids made through `create`, for the tests' cleanup
        aws = {
            "endpoint_url": info["aws_endpoint_url"],
            "aws_access_key_id": info["aws_access_key_id"],
            "aws_secret_access_key": info["aws_secret_access_key"],
        }
        self.ec2 = support_aws.client("ec2", info["region"], **aws)
        self.secrets = support_aws.client("secretsmanager", info["region"], **aws)

    # -- plain calls -------------------------------------------------------------------------
    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        answer = self.call(method, path, **kwargs)
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def create(self, name: str, template: str = "plain", **body: Any) -> dict[str, Any]:
        body = {"name": name, "template": template, **body}
        answer = dict(self.ok("POST", "/workspaces", 201, json=body))
        self.created.append(answer["id"])
        return answer

    def row(self, ws_id: str) -> dict[str, Any]:
        return dict(self.ok("GET", f"/workspaces/{ws_id}"))

    def events(self, ws_id: str) -> list[dict[str, Any]]:
        return list(self.ok("GET", f"/events/{ws_id}"))

    def kinds(self, ws_id: str) -> list[str]:
        """Event types oldest first."""
        return [e["event_type"] for e in reversed(self.events(ws_id))]

    def delete(self, ws_id: str, **params: Any) -> httpx.Response:
        name = self.call("GET", f"/workspaces/{ws_id}", params={"include_removed": "true"}).json()
        return self.call(
            "DELETE",
            f"/workspaces/{ws_id}",
            params=params,
            headers={"X-Confirm-Name": name.get("name", "")},
        )

    # -- waits -------------------------------------------------------------------------------
    def wait_status(self, ws_id: str, status: str, timeout_s: float = 30) -> dict[str, Any]:
        return eventually(
            f"{ws_id} {status}",
            lambda: self.row(ws_id),
            lambda row: row["status"] == status,
            timeout_s,
        )

    def wait_kinds(
        self, ws_id: str, ok: Callable[[list[str]], bool], what: str, timeout_s: float = 30
    ) -> list[str]:
        return eventually(f"{ws_id} events: {what}", lambda: self.kinds(ws_id), ok, timeout_s)

    def settled(self, ws_id: str, provisionings: int, timeout_s: float = 30) -> list[str]:
        """Online after its `provisionings`-th WORKSPACE_PROVISIONING (an ONLINE follows it)."""

        def done(kinds: list[str]) -> bool:
            last = max(
                (i for i, k in enumerate(kinds) if k == "WORKSPACE_PROVISIONING"), default=-1
            )
            return (
                kinds.count("WORKSPACE_PROVISIONING") == provisionings
                and "WORKSPACE_ONLINE" in kinds[last:]
                and self.row(ws_id)["status"] == "online"
            )

        return self.wait_kinds(
            ws_id, done, f"online after provisioning #{provisionings}", timeout_s
        )

    # -- AWS, black-box: the boxes by their tags ---------------------------------------------
    def instances(self, ws_id: str) -> list[dict[str, Any]]:
        """EC2 instances tagged as this workspace's box, oldest first (any state)."""
        name = f"ws-tenant-{self.info['tenant_slug']}-{ws_id[:8]}"
        answer = self.ec2.describe_instances(
            Filters=[
                {"Name": "tag:Name", "Values": [name]},
                {"Name": "tag:Role", "Values": ["workspace"]},
            ]
        )
        found = [i for r in answer["Reservations"] for i in r["Instances"]]
        return sorted(found, key=lambda i: (i["LaunchTime"], i["InstanceId"]))

    def running(self, ws_id: str) -> list[str]:
        return [i["InstanceId"] for i in self.instances(ws_id) if i["State"]["Name"] == "running"]

    def secret_exists(self, ws_id: str) -> bool:
        try:
            self.secrets.describe_secret(SecretId=f"molecule/workspace/{ws_id}/config")
        except self.secrets.exceptions.ResourceNotFoundException:
            return False
        return True

    def volumes(self, ws_id: str) -> list[str]:
        name = f"ws-data-tenant-{self.info['tenant_slug']}-{ws_id}"
        answer = self.ec2.describe_volumes(Filters=[{"Name": "tag:Name", "Values": [name]}])
        return [
            v["VolumeId"] for v in answer["Volumes"] if v["State"] not in ("deleting", "deleted")
        ]

    def heartbeat(self, ws_id: str, token: str, instance_id: str) -> httpx.Response:
        """What a box sends: its workspace token, no org header (the guard exempts it)."""
        return self.raw.post(
            "/registry/heartbeat",
            json={"workspace_id": ws_id, "instance_id": instance_id},
            headers={"Authorization": f"Bearer {token}"},
        )

    def close(self) -> None:
        self.http.close()
        self.raw.close()
