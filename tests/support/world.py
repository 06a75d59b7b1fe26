"""A scripted world for one workspace: the product's tenant API (an httpx.MockTransport), EC2's
DescribeInstances and SSM's PingStatus, advanced one step per `GET /workspaces/:id` — the
first thing every look (`Workspace.observe`) asks. The harness's own `Workspace`, `EventLog`,
`PlatformClient` and waits run against it unchanged, so settle/verify tests exercise the real
code and fake only the far side.

A step says what the world looks like from then on: the status, which instances are pending or
running (every other instance ever launched is terminated, and EC2 keeps listing it, as real
EC2 does for about an hour), the SSM PingStatus of the running box, and the events emitted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from e2e.harness.aws import AwsClients
from e2e.harness.platform import PlatformClient
from e2e.harness.settings import PROFILES, Profile, RunSettings
from e2e.harness.workspace import Workspace
from support.events import T0, EventFeed
from support.fake_ssm import FakeSsm, client_error

WS_ID = "7d3b2c1a-5e4f-4a3b-9c8d-0e1f2a3b4c5d"
WS_NAME = "e2e-r1-main-gate-1"

# Polls fast enough that a wait which succeeds takes milliseconds, and deadlines so generous
# that a success path never meets them, even on a loaded machine (a deadline costs nothing
# until it is reached) ...
TINY = replace(
    PROFILES["fast"],
    name="tiny",
    poll_s=0.001,
    ssm_poll_s=0.001,
    online_s=15.0,
    restart_s=15.0,
    reconcile_s=15.0,
    auto_restart_grace_s=15.0,
    ssm_online_s=15.0,
    command_s=15.0,
    delete_s=15.0,
    log_every_s=60.0,
)
# ... and, for the tests whose point is that a wait ends without its condition (a timeout, a
# dropped restart, a reconcile that never comes), deadlines of a fraction of a second.
SHORT = replace(
    TINY, name="short", online_s=0.3, restart_s=0.3, reconcile_s=0.25, auto_restart_grace_s=0.1
)

Emit = str | tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Step:
    status: str = "online"
    running: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    emit: tuple[Emit, ...] = ()
    ping: str = "Online"


def online(box: str, *emit: Emit, ping: str = "Online") -> Step:
    return Step("online", running=(box,), emit=emit, ping=ping)


def provisioning(*emit: Emit, running: tuple[str, ...] = (), pending: tuple[str, ...] = ()) -> Step:
    return Step("provisioning", running=running, pending=pending, emit=emit)


class World:
    def __init__(self, steps: Iterable[Step], box_root: Path | None = None) -> None:
        self.steps = list(steps)
        self.index = -1
        self.feed = EventFeed(WS_ID)
        self.state: dict[str, str] = {}  # instance id → EC2 state, in launch order
        self.launched_at: dict[str, Any] = {}
        self.gets = 0
        self.ec2_calls = 0
        self.ec2_at: list[int] = []  # the step index of each DescribeInstances
        self.filters: list[list[dict[str, Any]]] = []
        self.requests: list[httpx.Request] = []
        self.ssm = WorldSsm(self, box_root)

    # -- the script --------------------------------------------------------------------------
    @property
    def step(self) -> Step:
        return self.steps[max(self.index, 0)]

    def advance(self) -> None:
        if self.index + 1 >= len(self.steps):
            return
        self.index += 1
        step = self.steps[self.index]
        # a box first seen running was launched before one first seen pending next to it
        live = {**dict.fromkeys(step.running, "running"), **dict.fromkeys(step.pending, "pending")}
        for iid in list(self.state):
            if iid not in live:
                self.state[iid] = "terminated"
        for iid, state in live.items():
            if iid not in self.launched_at:
                self.launched_at[iid] = T0 + timedelta(seconds=len(self.launched_at))
            self.state[iid] = state
        for item in step.emit:
            kind, payload = (item, None) if isinstance(item, str) else item
            self.feed.emit(kind, payload)

    # -- the tenant --------------------------------------------------------------------------
    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "GET" and path == f"/workspaces/{WS_ID}":
            self.gets += 1
            self.advance()
            return httpx.Response(200, json=self.row())
        if request.method == "GET" and path == f"/events/{WS_ID}":
            return httpx.Response(200, json=self.feed.page())
        return httpx.Response(404, json={"error": f"no route {request.method} {path}"})

    def row(self) -> dict[str, Any]:
        return {
            "id": WS_ID,
            "name": WS_NAME,
            "tier": 2,
            "status": self.step.status,
            "url": "",
            "runtime": "claude-code",
            "agent_card": None,
            "last_outbound_at": None,
        }

    # -- EC2 ---------------------------------------------------------------------------------
    def describe_instances(self, **kw: Any) -> dict[str, Any]:
        self.ec2_calls += 1
        self.ec2_at.append(self.index)
        self.filters.append(kw.get("Filters") or [])
        return {
            "Reservations": [
                {
                    "Instances": [
                        {
                            "InstanceId": iid,
                            "State": {"Name": state},
                            "LaunchTime": self.launched_at[iid],
                        }
                    ]
                }
                for iid, state in self.state.items()
            ]
        }

    def workspace(self, **settings: Any) -> Workspace:
        """The harness's own Workspace, pointed at this world."""
        profile: Profile = settings.pop("profile", TINY)
        platform = PlatformClient(
            "http://tenant.test", "adm-token", "org-1", transport=httpx.MockTransport(self.handler)
        )
        aws = AwsClients(ec2=_Ec2(self), ssm=self.ssm, secretsmanager=None)
        ws = Workspace(platform, aws, RunSettings(profile=profile, **settings), WS_NAME)
        ws.id = WS_ID
        return ws


class _Ec2:
    def __init__(self, world: World) -> None:
        self.world = world

    def describe_instances(self, **kw: Any) -> dict[str, Any]:
        return self.world.describe_instances(**kw)


class WorldSsm(FakeSsm):
    """PingStatus from the world's current step; commands run in `box_root` when given (the
    same files for every box), else SendCommand answers InvalidInstanceId."""

    def __init__(self, world: World, box_root: Path | None) -> None:
        self.world = world
        self.has_box = box_root is not None
        if box_root is not None:
            super().__init__(box_root)
        else:
            self.commands, self.polls, self.sent, self.sent_to = {}, {}, [], {}
        self.ping_calls = 0

    def describe_instance_information(self, Filters: list[dict[str, Any]]) -> dict[str, Any]:
        self.ping_calls += 1
        (instance_id,) = Filters[0]["Values"]
        if self.world.state.get(instance_id) != "running":
            return {"InstanceInformationList": []}
        ping = self.world.step.ping
        return {"InstanceInformationList": [{"InstanceId": instance_id, "PingStatus": ping}]}

    def send_command(self, **kw: Any) -> dict[str, Any]:
        if not self.has_box:
            raise client_error("InvalidInstanceId", "SendCommand")
        return super().send_command(**kw)
