"""SSM Run Command state: commands, their per-instance invocations, managed instances.

Kept apart from the wire format (`ssm_wire`) like moto does. The fleet plugs in as the
`Dispatcher` that delivers a command to a box, and feeds back what the box reports. Memory is
bounded: finished commands beyond `max_commands` are forgotten oldest first.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from reference.box.limits import OUTPUT_CAP_CHARS

RUN_SHELL_SCRIPT = "AWS-RunShellScript"
PLUGIN_NAME = "aws:runShellScript"
TERMINAL = frozenset({"Success", "Failed", "TimedOut", "Cancelled"})


class SsmError(Exception):
    """A modelled SSM error, answered as HTTP 400 `{"__type": code, "message": ...}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Invocation:
    command_id: str
    instance_id: str
    visible: bool = False  # False until the box picked the command up
    status: str = "Pending"
    status_details: str = "Pending"
    response_code: int = -1
    stdout: str = ""
    stderr: str = ""
    started_at: float | None = None
    ended_at: float | None = None


@dataclass
class Command:
    command_id: str
    document_name: str
    commands: list[str]
    parameters: dict[str, list[str]]
    instance_ids: list[str]
    comment: str
    execution_timeout_s: int
    working_directory: str
    requested_at: float
    invocations: dict[str, Invocation] = field(default_factory=dict)

    @property
    def status(self) -> str:
        states = [inv.status for inv in self.invocations.values()]
        if all(s in TERMINAL for s in states):
            for worst in ("TimedOut", "Failed", "Cancelled"):
                if worst in states:
                    return worst
            return "Success"
        return "InProgress" if any(s != "Pending" for s in states) else "Pending"


@dataclass
class ManagedInstance:
    instance_id: str
    ip_address: str
    computer_name: str
    registered_at: float
    online: bool = True
    last_ping: float = 0.0


class Dispatcher(Protocol):
    def dispatch(self, command: Command, instance_id: str) -> bool:
        """Hand the command to the box; False if the box cannot take it."""
        ...


class SsmState:
    """All Run Command bookkeeping of one stack, safe to use from many threads."""

    def __init__(self, max_commands: int = 5000, max_lost_instances: int = 2000) -> None:
        self._lock = threading.Lock()
        self._commands: OrderedDict[str, Command] = OrderedDict()
        self._instances: OrderedDict[str, ManagedInstance] = OrderedDict()
        self.max_commands = max_commands
        self.max_lost_instances = max_lost_instances
        self.dispatcher: Dispatcher | None = None

    # --- managed instances (fed by the fleet) ---

    def instance_online(self, instance_id: str, ip_address: str) -> None:
        now = time.time()
        with self._lock:
            self._instances[instance_id] = ManagedInstance(
                instance_id, ip_address, f"ip-{ip_address.replace('.', '-')}", now, True, now
            )
            self._instances.move_to_end(instance_id)

    def instance_lost(self, instance_id: str) -> None:
        """The box is gone: ping is lost, unfinished invocations fail."""
        now = time.time()
        with self._lock:
            inst = self._instances.get(instance_id)
            if inst is not None:
                inst.online = False
            for command in self._commands.values():
                inv = command.invocations.get(instance_id)
                if inv is None or inv.status in TERMINAL:
                    continue
                inv.status = "Failed"
                inv.status_details = "Failed" if inv.visible else "Undeliverable"
                inv.visible = True
                inv.ended_at = now
            lost = [i for i, m in self._instances.items() if not m.online]
            for old in lost[: max(0, len(lost) - self.max_lost_instances)]:
                del self._instances[old]

    def instances(self, ids: set[str] | None = None) -> list[ManagedInstance]:
        """Copies (callers read them unlocked); with `ids`, only those, looked up one by one
        (a poll about one box must not cost a scan of every box)."""
        with self._lock:
            if ids is None:
                found = list(self._instances.values())
            else:
                found = [m for i in sorted(ids) if (m := self._instances.get(i)) is not None]
            return [ManagedInstance(**vars(m)) for m in found]

    def ping(self, instance_id: str) -> None:
        with self._lock:
            inst = self._instances.get(instance_id)
            if inst is not None and inst.online:
                inst.last_ping = time.time()

    # --- commands ---

    def send_command(
        self,
        instance_ids: list[str],
        commands: list[str],
        parameters: dict[str, list[str]],
        comment: str,
        execution_timeout_s: int,
        working_directory: str,
    ) -> Command:
        """Queue a command. Validation is done before anything is queued (4xx, never 5xx)."""
        with self._lock:
            for iid in instance_ids:
                inst = self._instances.get(iid)
                if inst is None or not inst.online:
                    raise SsmError(
                        "InvalidInstanceId",
                        f"Instances [[{iid}]] not in a valid state for account. "
                        "The instance is not a managed instance or its SSM agent is not online.",
                    )
            command = Command(
                command_id=str(uuid.uuid4()),
                document_name=RUN_SHELL_SCRIPT,
                commands=list(commands),
                parameters=parameters,
                instance_ids=list(instance_ids),
                comment=comment,
                execution_timeout_s=execution_timeout_s,
                working_directory=working_directory,
                requested_at=time.time(),
            )
            for iid in instance_ids:
                command.invocations[iid] = Invocation(command.command_id, iid)
            self._commands[command.command_id] = command
            self._evict_locked()
        dispatcher = self.dispatcher
        for iid in instance_ids:
            delivered = dispatcher is not None and dispatcher.dispatch(command, iid)
            if not delivered:
                self._undeliverable(command.command_id, iid)
        return command

    def _undeliverable(self, command_id: str, instance_id: str) -> None:
        with self._lock:
            inv = self._find_locked(command_id, instance_id)
            if inv is not None and inv.status not in TERMINAL:
                inv.visible = True
                inv.status = "Failed"
                inv.status_details = "Undeliverable"
                inv.ended_at = time.time()

    def _evict_locked(self) -> None:
        excess = len(self._commands) - self.max_commands
        if excess <= 0:
            return
        for command_id in list(self._commands):
            if excess <= 0:
                break
            if self._commands[command_id].status in TERMINAL:
                del self._commands[command_id]
                excess -= 1

    def _find_locked(self, command_id: str, instance_id: str) -> Invocation | None:
        command = self._commands.get(command_id)
        return None if command is None else command.invocations.get(instance_id)

    # --- box reports ---

    def picked_up(self, command_id: str, instance_id: str) -> None:
        with self._lock:
            inv = self._find_locked(command_id, instance_id)
            if inv is not None and inv.status == "Pending":
                inv.visible = True

    def started(self, command_id: str, instance_id: str, at: float) -> None:
        with self._lock:
            inv = self._find_locked(command_id, instance_id)
            if inv is not None and inv.status == "Pending":
                inv.visible = True
                inv.status = inv.status_details = "InProgress"
                inv.started_at = at

    def finished(
        self,
        command_id: str,
        instance_id: str,
        code: int,
        timed_out: bool,
        stdout: str,
        stderr: str,
        started_at: float,
        ended_at: float,
    ) -> None:
        with self._lock:
            inv = self._find_locked(command_id, instance_id)
            if inv is None or inv.status in TERMINAL:
                return
            inv.visible = True
            inv.started_at = inv.started_at or started_at
            inv.ended_at = ended_at
            inv.stdout = stdout[:OUTPUT_CAP_CHARS]
            inv.stderr = stderr[:OUTPUT_CAP_CHARS]
            if timed_out:
                inv.status, inv.status_details, inv.response_code = (
                    "TimedOut",
                    "ExecutionTimedOut",
                    -1,
                )
            else:
                inv.response_code = code
                inv.status = inv.status_details = "Success" if code == 0 else "Failed"

    # --- reads (copies, so the wire layer never sees a half-updated record) ---

    def get_invocation(self, command_id: str, instance_id: str) -> tuple[Command, Invocation]:
        with self._lock:
            command = self._commands.get(command_id)
            inv = None if command is None else command.invocations.get(instance_id)
            if command is None or inv is None or not inv.visible:
                raise SsmError(
                    "InvocationDoesNotExist",
                    f"Invocation for command {command_id} on instance {instance_id} "
                    "does not exist (yet).",
                )
            return command, Invocation(**vars(inv))

    def list_invocations(
        self, command_id: str | None, instance_id: str | None
    ) -> list[tuple[Command, Invocation]]:
        with self._lock:
            if command_id is not None:
                known = self._commands.get(command_id)
                commands = [] if known is None else [known]
            else:
                commands = list(self._commands.values())
            found = []
            for command in reversed(commands):  # newest first, like AWS
                for iid, inv in command.invocations.items():
                    if inv.visible and (instance_id is None or iid == instance_id):
                        found.append((command, Invocation(**vars(inv))))
            return found

    def command_count(self) -> int:
        with self._lock:
            return len(self._commands)
