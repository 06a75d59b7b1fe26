"""A workspace handle: create and delete it, look at it, reach its box.

Looking (`observe`) asks the platform for the status and EC2 for the instances its tags name,
and SSM whether the single running one is Online. Every instance ever seen is remembered in
first-seen order, so a wait can tell how many boxes a restart launched even when one lived
only between two looks. The waits that build on it are in `settle.py`, the triggers in
`triggers.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from e2e.harness import report, retries
from e2e.harness.aws import AwsClients, is_throttling
from e2e.harness.cleanup import Cleanup
from e2e.harness.events import EventLog, EventMark
from e2e.harness.identity import BoxIdentity, Instance, Observation, filters_for
from e2e.harness.platform import HasChildren, PlatformClient, WorkspaceGone
from e2e.harness.settings import RunSettings
from e2e.harness.ssm import CommandPace, CommandResult, SsmHost
from e2e.harness.waits import WaitTimeout, wait_for

log = logging.getLogger("e2e.workspace")

PERSIST = {"data_persistence": "persist"}  # user files survive a restart only with this
_CREATED: list[str] = []  # ids of every workspace this process created (the leak check's list)


def created_workspaces() -> list[str]:
    return list(_CREATED)


@dataclass
class Marker:
    """Where things stood just before a trigger: events seen, the box, instances seen."""

    events: EventMark
    identity: BoxIdentity | None
    instances: frozenset[str]


@dataclass
class WorkspaceStats:
    """What the session summary prints per workspace."""

    name: str
    workspace_id: str = ""
    restarts_verified: int = 0
    verifications: int = 0
    files_checked: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    retries_http: int = 0
    retries_aws: int = 0

    def time(self, label: str, seconds: float) -> None:
        self.timings[label] = round(self.timings.get(label, 0.0) + seconds, 3)

    def note(self, text: str) -> None:
        log.warning("%s: %s", self.name, text)
        self.notes.append(text)


class Workspace:
    """One workspace under test. Construct with `Workspace.create` (registers cleanup first)."""

    def __init__(
        self,
        platform: PlatformClient,
        aws: AwsClients,
        settings: RunSettings,
        name: str,
        *,
        on_command: Callable[[CommandResult], None] | None = None,
    ) -> None:
        self.platform = platform
        self.aws = aws
        self.settings = settings
        self.profile = settings.profile
        self.name = name
        self.id = ""
        self.stats = WorkspaceStats(name)
        self.events = EventLog(lambda: self.platform.events(self.id))
        self.seen_instances: dict[str, Instance] = {}
        self.commands: list[CommandResult] = []  # recent SSM outputs, for reports
        self.last_observation: Observation | None = None
        self._on_command = on_command
        self._hosts: dict[str, SsmHost] = {}
        self._pace = CommandPace()  # one for all its boxes: each restart's box is alike

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        platform: PlatformClient,
        aws: AwsClients,
        settings: RunSettings,
        cleanup: Cleanup,
        name: str,
        template: str,
        **extra: Any,
    ) -> Workspace:
        """POST /workspaces (persisting data; runtime, model, secrets from the settings) — the
        delete is registered before the request is sent."""
        ws = cls(platform, aws, settings, name)
        cleanup.register(f"workspace {name}", ws.delete)
        body: dict[str, Any] = {"name": name, "template": template, "compute": dict(PERSIST)}
        if settings.runtime:
            body["runtime"] = settings.runtime
        if settings.model:
            body["model"] = settings.model
        if settings.secrets:
            body["secrets"] = dict(settings.secrets)
            report.register_secret(*(value for _, value in settings.secrets))
        body.update(extra)
        with report.step(f"create workspace {name} from template {template}"):
            answer = platform.create_workspace(body)
        report.register_secret(answer.auth_token)
        ws.id = answer.id
        _CREATED.append(ws.id)
        ws.stats.workspace_id = ws.id
        retries.LEDGER.workspace(ws.id)
        log.info("workspace %s is %s (%s)", name, ws.id, answer.status)
        return ws

    def delete(self) -> None:
        """DELETE with the name as confirmation and the data erased, then wait until EC2 shows
        no live instance of it. Never cascades: children (other tests' workspaces under the
        product's default parent) are waited for, boundedly, to go first."""
        if not self.id:
            self.id = self._find_by_name() or ""
            if not self.id:
                return  # never created (the POST failed before the platform made it)
        with report.step(f"delete workspace {self.name}"):
            try:
                name = self.platform.get_workspace(self.id).name
            except WorkspaceGone:
                return
            wait_for(
                f"{self.name}: deleted (children first)",
                lambda: self._try_delete(name),
                bool,
                timeout_s=self.profile.delete_s,
                teardown=True,
                poll_s=max(self.profile.poll_s, 0.2),
                describe=lambda done: "deleted" if done else "has children",
                log_every_s=self.profile.log_every_s,
            )
            wait_for(
                f"{self.name}: instances gone after delete",
                lambda: [
                    i.instance_id for i in self.instances() if i.state in ("pending", "running")
                ],
                lambda ids: not ids,
                timeout_s=self.profile.delete_s,
                teardown=True,
                poll_s=self.profile.poll_s,
                describe=lambda ids: f"live={ids}",
                log_every_s=self.profile.log_every_s,
                transient=(BotoCoreError, ClientError),
            )

    def _try_delete(self, name: str) -> bool:
        try:
            self.platform.delete_workspace(self.id, name)
        except HasChildren:
            return False
        return True

    def _find_by_name(self) -> str | None:
        """The id of a workspace whose create answer was lost (e.g. a read timeout after the
        platform made it). Best effort; the sweeper catches the rest."""
        try:
            found = [w for w in self.platform.list_workspaces() if w.name == self.name]
        except Exception as exc:  # cleanup must go on with whatever else is registered
            log.warning("%s: cannot look the workspace up by name: %r", self.name, exc)
            return None
        return found[0].id if found else None

    # -- observation -------------------------------------------------------------------------
    def instances(self) -> list[Instance]:
        """Every instance EC2 tags as this workspace's, in any state; remembered."""
        answer = self.aws.ec2.describe_instances(
            Filters=filters_for(self.settings.instance_filters, self.id)
        )
        found = [
            Instance.from_ec2(raw)
            for reservation in answer.get("Reservations", [])
            for raw in reservation.get("Instances", [])
        ]
        for inst in sorted(found, key=lambda i: (i.launched_at is None, i.launched_at)):
            if inst.instance_id not in self.seen_instances:
                retries.LEDGER.bind(inst.instance_id, self.id)
            self.seen_instances[inst.instance_id] = inst
        return found

    def observe(self, *, candidate: bool = True) -> Observation:
        """One look. `candidate=False`: the caller knows no box can be the one it waits for
        yet, so only the platform is asked (such a look is never stable)."""
        try:
            status = self.platform.get_workspace(self.id).status
        except WorkspaceGone:
            status = "removed"
        obs = Observation(status)
        if candidate and status == "online":
            obs.instances = [i for i in self.instances() if i.state in ("pending", "running")]
            if obs.box is not None:
                obs.ping = self._ping(obs.box.instance_id)
        self.last_observation = obs
        return obs

    def _ping(self, instance_id: str) -> str:
        """PingStatus; asked without botocore's retries first (most looks are polls, whose
        loop is the retry), and once more with them when throttled, since a look outside a
        loop (a verification's closing bracket) must not fail on a throttle."""
        host = self.host(instance_id)
        try:
            return host.ping_status(self.aws.ssm_poll)
        except ClientError as exc:
            if not is_throttling(exc):
                raise
            return host.ping_status()

    def mark(self) -> Marker:
        obs = self.last_observation
        self.instances()
        return Marker(
            self.events.mark(), obs.identity if obs else None, frozenset(self.seen_instances)
        )

    def launched_since(self, marker: Marker) -> list[str]:
        """Instances first seen after the marker, oldest first."""
        return [i for i in self.seen_instances if i not in marker.instances]

    # -- the box -----------------------------------------------------------------------------
    def host(self, instance_id: str) -> SsmHost:
        if instance_id not in self._hosts:
            self._hosts[instance_id] = SsmHost(
                self.aws.ssm,
                instance_id,
                poll_s=self.profile.ssm_poll_s,
                command_timeout_s=self.profile.command_s,
                online_timeout_s=self.profile.ssm_online_s,
                log_every_s=self.profile.log_every_s,
                listener=self._record_command,
                poll_client=self.aws.ssm_poll,
                send_client=self.aws.ssm_send,
                pace=self._pace,
            )
        return self._hosts[instance_id]

    def _record_command(self, result: CommandResult) -> None:
        self.commands.append(result)
        del self.commands[:-40]
        if self._on_command:
            self._on_command(result)

    def close_stats(self) -> WorkspaceStats:
        """The stats with this workspace's retry counts filled in (for the summary)."""
        self.stats.retries_http, self.stats.retries_aws = retries.LEDGER.of(self.id)
        return self.stats


__all__ = ["Marker", "WaitTimeout", "Workspace", "WorkspaceStats"]
