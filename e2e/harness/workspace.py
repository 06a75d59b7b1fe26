"""A workspace handle: create, wait, install a plugin, restart, delete — and find its box.

Waits take their deadlines from the profile and, on timeout, say the last observed status,
instance and events. "The fresh box after a trigger" is decided from what the platform and AWS
show, never from timing (see `wait_fresh_box`).
"""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from e2e.harness import report
from e2e.harness.aws import AwsClients
from e2e.harness.cleanup import Cleanup
from e2e.harness.identity import BoxIdentity, Observation, platform_fields
from e2e.harness.platform import PlatformClient, PlatformError
from e2e.harness.settings import RunSettings
from e2e.harness.ssm import CommandPace, CommandResult, SsmHost
from e2e.harness.waits import Outcome, WaitAborted, WaitTimeout, wait_for

log = logging.getLogger("e2e.workspace")

LIFECYCLE = (
    "WORKSPACE_PROVISIONING",
    "WORKSPACE_RESTARTING",
    "WORKSPACE_ONLINE",
    "WORKSPACE_OFFLINE",
    "WORKSPACE_PROVISION_FAILED",
    "WORKSPACE_REMOVED",
)
DEAD_STATUSES = ("failed", "removed")


@dataclass
class Marker:
    """Where things stood just before a trigger: its events and its box."""

    event_count: int
    last_event_id: object
    identity: BoxIdentity | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class WorkspaceStats:
    """What the session summary prints per workspace."""

    name: str
    workspace_id: str = ""
    restarts_verified: int = 0
    verifications: int = 0
    files_checked: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def time(self, label: str, seconds: float) -> None:
        self.timings[label] = round(self.timings.get(label, 0.0) + seconds, 3)


def events_after(events: Sequence[Mapping[str, Any]], marker: Marker) -> list[Mapping[str, Any]]:
    """Events appended since the marker (by integer id when the platform gives one)."""
    if isinstance(marker.last_event_id, int):
        last = marker.last_event_id
        return [e for e in events if isinstance(e.get("id"), int) and int(e["id"]) > last]
    return list(events[marker.event_count :])


def _payload(event: Mapping[str, Any]) -> Mapping[str, Any]:
    payload = event.get("payload")
    return payload if isinstance(payload, Mapping) else {}


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
        self.commands: list[CommandResult] = []  # recent SSM outputs, for reports
        self._on_command = on_command
        self._hosts: dict[str, SsmHost] = {}
        self._pace = CommandPace()  # one for all its boxes: each restart's box is alike
        self.last_observation: Observation | None = None

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
        """POST /workspaces — the delete is registered before the request is sent."""
        ws = cls(platform, aws, settings, name)
        cleanup.register(f"workspace {name}", ws.delete)
        with report.step(f"create workspace {name} from template {template}"):
            answer = platform.create_workspace(name, template, **extra)
        ws.id = str(answer["id"])
        ws.stats.workspace_id = ws.id
        log.info("workspace %s is %s (%s)", name, ws.id, answer.get("status"))
        return ws

    def delete(self) -> None:
        """DELETE ?confirm=true, then wait until no running instance carries its tag."""
        if not self.id:
            self.id = self._find_by_name() or ""
            if not self.id:
                return  # never created (the POST failed before the platform made it)
        with report.step(f"delete workspace {self.name}"):
            self.platform.delete_workspace(self.id)
            wait_for(
                f"{self.name}: instances gone after delete",
                self.running_instances,
                lambda ids: not ids,
                timeout_s=self.settings.cap(self.profile.delete_s) or 1.0,
                poll_s=self.profile.poll_s,
                describe=lambda ids: f"running={ids}",
                log_every_s=self.profile.log_every_s,
                transient=(BotoCoreError, ClientError),
            )

    def _find_by_name(self) -> str | None:
        """The id of a workspace whose create answer was lost (e.g. a read timeout after the
        platform made it). Best effort: needs `GET /workspaces`; the sweeper catches the rest."""
        try:
            listed = self.platform.request("GET", "/workspaces")
            if listed.status_code != 200:
                return None
            found = [w for w in listed.json() if w.get("name") == self.name]
        except Exception as exc:  # cleanup must go on with whatever else is registered
            log.warning("%s: cannot look the workspace up by name: %r", self.name, exc)
            return None
        return str(found[0]["id"]) if found else None

    # -- observation -------------------------------------------------------------------------

    def get(self) -> dict[str, Any]:
        return self.platform.get_workspace(self.id)

    def events(self) -> list[dict[str, Any]]:
        return self.platform.events(self.id)

    def running_instances(self) -> list[str]:
        """Instances tagged with this workspace that are pending or running (EC2 view)."""
        answer = self.aws.ec2.describe_instances(
            Filters=[
                {"Name": f"tag:{self.settings.instance_tag_key}", "Values": [self.id]},
                {"Name": "instance-state-name", "Values": ["pending", "running"]},
            ]
        )
        return sorted(
            inst["InstanceId"]
            for reservation in answer.get("Reservations", [])
            for inst in reservation.get("Instances", [])
            if inst.get("State", {}).get("Name") == "running"
        )

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
                pace=self._pace,
            )
        return self._hosts[instance_id]

    def _record_command(self, result: CommandResult) -> None:
        self.commands.append(result)
        del self.commands[:-40]
        if self._on_command:
            self._on_command(result)

    def observe(self, *, candidate: bool = True) -> Observation:
        """One look: platform status, the box it names (or EC2 finds), EC2 state, SSM ping.
        `candidate=False`: the caller knows no box can be the one it waits for yet, so only the
        platform is asked (such a look is never stable)."""
        status, instance_id, generation, pending = platform_fields(self.get())
        if not candidate or status != "online" or pending:
            # not a candidate: skip the AWS calls (keeps fast polls cheap for the platform)
            obs = Observation(status, instance_id, generation, pending)
            self.last_observation = obs
            return obs
        running = self.running_instances()
        if instance_id is None and len(running) == 1:
            instance_id = running[0]  # staging: the platform does not name the instance
        obs = Observation(status, instance_id, generation, pending, running_instances=running)
        if instance_id:
            obs.instance_state = "running" if instance_id in running else "not running"
            if obs.instance_state == "running" and status == "online":
                obs.ping = self.host(instance_id).ping_status()
        self.last_observation = obs
        return obs

    def describe_for_timeout(self, last: Observation | None = None) -> str:
        """Status, instance and the tail of the event timeline, for a wait's failure message."""
        last = last or self.last_observation
        try:
            timeline = report.timeline(self.events(), last=12)
        except Exception as exc:  # reporting must not hide the timeout itself
            timeline = f"(events unavailable: {type(exc).__name__}: {exc})"
        state = last.describe() if last else "(no observation)"
        box = self.box_diagnostics(last.instance_id if last else None)
        return f"workspace {self.name} ({self.id}): {state}\nevents:\n{timeline}{box}"

    def box_diagnostics(self, instance_id: str | None) -> str:
        """What the box itself says (processes, log tails), if it still answers SSM. Paths are
        the profile-independent usual suspects; missing ones are skipped."""
        if not instance_id:
            return ""
        host = self.host(instance_id)
        try:
            if host.ping_status() != "Online":
                return f"\nbox {instance_id}: SSM PingStatus {host.ping_status()}"
            result = host.run(
                "ps -eo pid,ppid,stat,etime,args 2>/dev/null | head -n 30\n"
                'for f in /var/log/*.log; do [ -f "$f" ] || continue; '
                'echo "--- $f (tail)"; tail -n 25 "$f" | cut -c1-300; done',
                check=False,
                timeout_s=min(10.0, self.profile.command_s),
            )
        except Exception as exc:  # diagnostics must never hide the original failure
            return f"\nbox {instance_id}: diagnostics unavailable ({type(exc).__name__}: {exc})"
        return f"\nbox {instance_id} says:\n{result.stdout[-6000:]}"

    def _wait(
        self,
        what: str,
        done: Callable[[Observation], bool],
        timeout_s: float,
        abort: Callable[[Observation], str | None] | None = None,
        observe: Callable[[], Observation] | None = None,
    ) -> Outcome[Observation]:
        capped = self.settings.cap(timeout_s)
        if capped < timeout_s:
            what += f" (deadline cut to {capped:.0f}s by E2E_DEADLINE_S)"
        try:
            return wait_for(
                f"{self.name}: {what}",
                observe or self.observe,
                done,
                timeout_s=capped,
                poll_s=self.profile.poll_s,
                describe=Observation.describe,
                abort=abort or self._abort_if_dead,
                log_every_s=self.profile.log_every_s,
                transient=(BotoCoreError, ClientError, PlatformError),
            )
        except (WaitTimeout, WaitAborted) as exc:
            raise type(exc)(f"{exc}\n{self.describe_for_timeout()}") from None

    @staticmethod
    def _abort_if_dead(obs: Observation) -> str | None:
        if obs.status in DEAD_STATUSES:
            return f"workspace is {obs.status}"
        return None

    # -- waits -------------------------------------------------------------------------------

    def wait_stable(
        self, what: str = "online and settled", timeout_s: float | None = None
    ) -> BoxIdentity:
        """Online, no restart pending, exactly one running box that answers SSM."""
        started = time.monotonic()
        outcome = self._wait(what, lambda o: o.stable, timeout_s or self.profile.online_s)
        self.stats.time("wait", time.monotonic() - started)
        identity = outcome.value.identity
        assert identity is not None
        return identity

    def current_stable_identity(self, what: str) -> BoxIdentity:
        """The box as last seen if that look was stable, else wait for a stable one. Any look
        taken before a reading may open its bracket: if the box changed since, the closing look
        differs and the reading is discarded."""
        obs = self.last_observation
        if obs is not None and obs.stable and obs.identity is not None:
            return obs.identity
        return self.wait_stable(what)

    def mark(self) -> Marker:
        events = self.events()
        obs = self.last_observation
        return Marker(
            event_count=len(events),
            last_event_id=events[-1].get("id") if events else 0,
            identity=obs.identity if obs else None,
        )

    def wait_fresh_box(
        self,
        marker: Marker,
        cause: str,
        *,
        require_events: Sequence[str] = ("WORKSPACE_RESTARTING",),
        restart_ids_at_trigger: Sequence[object] = (),
    ) -> BoxIdentity:
        """The box that reflects everything done before the trigger.

        Settled means: stable (online, nothing pending, one box answering SSM); a different box
        than at the marker; every event type in `require_events` appeared after the marker; the
        latest lifecycle event is WORKSPACE_ONLINE, later than every restart already announced
        when the trigger's request returned (so a restart the trigger coalesced into is awaited,
        not an earlier one that happened to finish).
        """
        started = time.monotonic()
        fresh_events: list[Mapping[str, Any]] = []

        def settled(obs: Observation) -> bool:
            nonlocal fresh_events
            if not obs.stable:
                return False
            if marker.identity and obs.identity and obs.identity == marker.identity:
                return False
            if marker.identity and obs.instance_id == marker.identity.instance_id:
                return False
            fresh_events = events_after(self.events(), marker)
            seen = {str(e.get("type")) for e in fresh_events}
            if any(kind not in seen for kind in require_events):
                return False
            lifecycle = [e for e in fresh_events if e.get("type") in LIFECYCLE]
            if not lifecycle or lifecycle[-1].get("type") != "WORKSPACE_ONLINE":
                return False
            online = lifecycle[-1]
            if any(_later(rid, online.get("id")) for rid in restart_ids_at_trigger):
                return False
            said = _payload(online).get("instance_id")
            return said in (None, obs.instance_id)

        outcome = self._wait(f"fresh box after {cause}", settled, self.profile.restart_s)
        self.stats.time(f"restart:{cause.split()[0]}", time.monotonic() - started)
        identity = outcome.value.identity
        assert identity is not None
        log.info("%s: fresh box %s after %s", self.name, identity, cause)
        return identity

    def wait_reconciled(self, declared: Sequence[str]) -> bool:
        """After first online the platform installs the plugins the template declares and
        restarts (DESIGN §5). Wait for the box that restart produced, so it is the one we
        verify: only then is the reconcile restart's delivery checked every time, not by luck.

        Bounded by the profile's `reconcile_s`: a platform that never reconciles (or one whose
        plugins were already installed) is not a failure; the gate goes on, and its bracketed
        verifications stay correct whenever a late reconcile restart does fire.
        """
        if not declared:
            return True
        started = time.monotonic()
        wanted = set(declared)

        def look() -> Observation:
            """The plugins first: until the declared ones are installed no box can be the
            reconciled one, and a full look's EC2 and SSM calls (~15 ms of CPU on both ends,
            every poll) would be spent on a box that is about to be replaced, for as long as
            the reconcile takes to come (seconds, when it comes late)."""
            installed = {str(p.get("name")) for p in self.platform.plugins(self.id)}
            return self.observe(candidate=wanted <= installed)  # installed stays installed

        def reconciled(obs: Observation) -> bool:
            if not obs.stable:
                return False
            events = self.events()
            last_install = max(
                (i for i, e in enumerate(events) if e.get("type") == "PLUGIN_INSTALLED"),
                default=None,
            )
            if last_install is None:
                return True  # installed without an event: nothing more to wait for
            after = [e for e in events[last_install:] if e.get("type") in LIFECYCLE]
            kinds = [e.get("type") for e in after]
            return "WORKSPACE_RESTARTING" in kinds and kinds[-1] == "WORKSPACE_ONLINE"

        try:
            self._wait(
                f"plugin reconcile of {sorted(wanted)}",
                reconciled,
                self.profile.reconcile_s,
                observe=look,
            )
        except WaitTimeout as exc:
            log.warning("%s: no reconcile seen; going on: %s", self.name, str(exc)[:300])
            return False
        finally:
            self.stats.time("reconcile", time.monotonic() - started)
        return True

    def restart_ids(self, marker: Marker) -> list[object]:
        """Ids of restart events announced since the marker (call right after a trigger)."""
        return [
            e.get("id")
            for e in events_after(self.events(), marker)
            if e.get("type") == "WORKSPACE_RESTARTING"
        ]

    # -- triggers ----------------------------------------------------------------------------

    def _ready_marker(self, what: str) -> Marker:
        """The marker before a trigger; waits for a stable box unless one was just seen."""
        obs = self.last_observation
        if obs is None or not obs.stable:
            self.wait_stable(f"stable before {what}")
        return self.mark()

    def restart(self) -> BoxIdentity:
        """Manual restart, then the fresh box."""
        marker = self._ready_marker("restart")
        with report.step(f"restart {self.name} (manual)"):
            self.platform.restart(self.id)
            return self.wait_fresh_box(
                marker, "manual restart", restart_ids_at_trigger=self.restart_ids(marker)
            )

    def kill_agent(self, pattern: str) -> BoxIdentity:
        """Kill the box's agent over SSM (SIGKILL, by pid), then wait for crash recovery:
        offline, an automatic restart, and the fresh box.

        The kill runs detached a moment after the command answers: on a box where the agent
        shares its process with whatever answers SSM (the reference's one-Python box), killing
        it inline would take the command's own answer down with it."""
        marker = self._ready_marker("killing the agent")
        assert marker.identity is not None
        host = self.host(marker.identity.instance_id)
        with report.step(f"kill the agent of {self.name} on {marker.identity}"):
            script = (
                f"pids=$(pgrep -f -- {shlex.quote(pattern)} | grep -vx 1 || true)\n"
                'if [ -z "$pids" ]; then echo "no process matches" >&2; '
                "ps -eo pid,ppid,stat,etime,args >&2; exit 1; fi\n"
                'echo "killing $pids"\n'
                'setsid sh -c "sleep 0.3; kill -KILL $pids" </dev/null >/dev/null 2>&1 &'
            )
            host.run(script)
            return self.wait_fresh_box(
                marker,
                "crash recovery",
                require_events=("WORKSPACE_OFFLINE", "WORKSPACE_RESTARTING"),
            )

    def install_plugin(self, source: str) -> BoxIdentity:
        """Install a plugin (the platform auto-restarts), then the fresh box."""
        marker = self._ready_marker("plugin install")
        with report.step(f"install plugin {source} on {self.name}"):
            answer = self.platform.install_plugin(self.id, source)
            log.info("%s: install answered %s", self.name, answer)
            return self.wait_fresh_box(
                marker,
                f"plugin install {source}",
                require_events=("PLUGIN_INSTALLED", "WORKSPACE_RESTARTING"),
                restart_ids_at_trigger=self.restart_ids(marker),
            )


def _later(a: object, b: object) -> bool:
    """a > b for integer event ids; unknown orders count as not later."""
    return isinstance(a, int) and isinstance(b, int) and a > b
