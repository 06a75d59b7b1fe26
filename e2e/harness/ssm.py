"""Run shell commands on one box over SSM Run Command, the way a human on real AWS would.

`SsmHost` is the one transport (testinfra-style `run(cmd)`); everything that reads or writes
the box goes through it. Semantics that matter:

- before the first command, wait until *this* instance is a managed instance with
  PingStatus Online (a fresh EC2 box takes a while to register; a stale one never will);
- after send_command, `InvocationDoesNotExist`, `Pending`, `InProgress` and `Delayed` all mean
  "not yet" — the invocation shows up and progresses asynchronously;
- the exit code (`ResponseCode`) is checked apart from the status: `Success` with a non-zero
  code, or `Failed` with code 0, are both reported as what they are;
- stdout is capped at 24,000 characters by SSM: callers that may produce more must page and
  mark their output's end (see manifest.py) — `CommandResult.maybe_truncated` flags the cap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from e2e.harness import retries
from e2e.harness.aws import THROTTLING_ERRORS, is_throttling
from e2e.harness.pace import CommandPace
from e2e.harness.report import redact
from e2e.harness.waits import WaitTimeout, wait_for

log = logging.getLogger("e2e.ssm")

OUTPUT_CAP = 24_000
NOT_YET_STATUSES = frozenset({"Pending", "InProgress", "Delayed"})
NOT_YET_ERRORS = frozenset({"InvocationDoesNotExist"})
# the poll client does not retry: a dropped connection or a timed-out read is polled again
POLL_TRANSPORT_ERRORS = (BotoConnectionError, HTTPClientError)
# SendCommand is repeated only when it cannot have been queued: never connected, or throttled
SEND_NOT_SENT = (EndpointConnectionError, ConnectTimeoutError)
SEND_ATTEMPTS = 5


class SsmError(AssertionError):
    """A command could not be run or did not finish as required."""


class BoxGone(SsmError):
    """The instance stopped being a live managed instance (e.g. a restart replaced it)."""


@dataclass
class CommandResult:
    instance_id: str
    command_id: str
    status: str  # SSM status: Success, Failed, Cancelled, TimedOut, ...
    exit_code: int  # ResponseCode; -1 when SSM reports none
    stdout: str
    stderr: str
    elapsed_s: float
    script: str = field(repr=False, default="")

    @property
    def ok(self) -> bool:
        return self.status == "Success" and self.exit_code == 0

    @property
    def maybe_truncated(self) -> bool:
        return len(self.stdout) >= OUTPUT_CAP - 100

    def describe(self, limit: int = 1500) -> str:
        def tail(text: str) -> str:
            text = redact(text)  # before the cut: a cut token would survive it
            return text if len(text) <= limit else "…" + text[-limit:]

        return redact(
            f"[{self.instance_id} {self.command_id}] status={self.status} "
            f"exit={self.exit_code} in {self.elapsed_s:.2f}s\n"
            f"--- script ---\n{tail(self.script)}\n"
            f"--- stdout ({len(self.stdout)} chars) ---\n{tail(self.stdout)}\n"
            f"--- stderr ({len(self.stderr)} chars) ---\n{tail(self.stderr)}"
        )


# Every result is offered to this hook (the report collects them as attachments).
CommandListener = Callable[[CommandResult], None]


class SsmHost:
    """One box, reached by its instance id."""

    def __init__(
        self,
        ssm_client: Any,
        instance_id: str,
        *,
        poll_s: float = 0.01,
        command_timeout_s: float = 20.0,
        online_timeout_s: float = 20.0,
        log_every_s: float = 5.0,
        listener: CommandListener | None = None,
        poll_client: Any = None,
        pace: CommandPace | None = None,
        send_client: Any = None,
    ) -> None:
        self.ssm = ssm_client
        self.poll_client = poll_client or ssm_client  # reads polled in a loop: no retries
        self.instance_id = instance_id
        self.poll_s = poll_s
        self.command_timeout_s = command_timeout_s
        self.online_timeout_s = online_timeout_s
        self.log_every_s = log_every_s
        self.listener = listener
        self.pace = pace or CommandPace()  # a workspace passes one for all its boxes: alike
        self.send_client = send_client or ssm_client  # no botocore retries: see _send
        self._online_seen = False

    def __repr__(self) -> str:
        return f"SsmHost({self.instance_id})"

    # -- managed-instance state -----------------------------------------------------------

    def ping_status(self, client: Any = None) -> str:
        """PingStatus of this instance, or 'NotRegistered' when SSM does not know it (yet).
        Throttling is retried (botocore) unless a poll loop passes its `poll_client`."""
        answer = (client or self.ssm).describe_instance_information(
            Filters=[{"Key": "InstanceIds", "Values": [self.instance_id]}]
        )
        for info in answer.get("InstanceInformationList", []):
            if info.get("InstanceId") == self.instance_id:
                return str(info.get("PingStatus", "Unknown"))
        return "NotRegistered"

    def wait_online(self, timeout_s: float | None = None) -> None:
        """Wait until this very instance reports PingStatus Online (once per host)."""
        if self._online_seen:
            return

        def observe() -> str:
            try:
                return self.ping_status(self.poll_client)
            except ClientError as exc:
                if is_throttling(exc):
                    return "Throttled"
                raise

        wait_for(
            f"SSM PingStatus Online for {self.instance_id}",
            observe,
            lambda status: status == "Online",
            timeout_s=self.online_timeout_s if timeout_s is None else timeout_s,
            poll_s=max(self.poll_s, 0.02),
            describe=lambda status: f"PingStatus={status}",
            log_every_s=self.log_every_s,
            transient=POLL_TRANSPORT_ERRORS,
        )
        self._online_seen = True

    # -- commands ----------------------------------------------------------------------------

    def run(
        self, script: str, *, check: bool = True, timeout_s: float | None = None
    ) -> CommandResult:
        """Run a script as AWS-RunShellScript, which hands it to /bin/sh (dash on Ubuntu): it
        must be POSIX sh or start with `#!/bin/bash`. With `check`, raise unless exit code 0."""
        self.wait_online()
        started = time.monotonic()
        limit_s = timeout_s or self.command_timeout_s
        command_id = self._send(script, limit_s)
        answer = self._poll(command_id, script, started, limit_s)
        result = CommandResult(
            instance_id=self.instance_id,
            command_id=command_id,
            status=str(answer.get("Status")),
            exit_code=int(answer.get("ResponseCode", -1)),
            stdout=answer.get("StandardOutputContent", "") or "",
            stderr=answer.get("StandardErrorContent", "") or "",
            elapsed_s=time.monotonic() - started,
            script=script,
        )
        if result.status in ("Success", "Failed"):  # ran to its end: a duration worth pacing by
            self.pace.record(result.elapsed_s)
        if self.listener:
            self.listener(result)
        if check and not result.ok:
            if result.status in ("Undeliverable", "Terminated"):
                raise BoxGone(f"command never ran to completion:\n{result.describe()}")
            raise SsmError(f"command failed:\n{result.describe()}")
        return result

    def _send(self, script: str, limit_s: float) -> str:
        """SendCommand, once: it has no idempotency token, so it is repeated only when it
        cannot have been queued (throttled, or the connection never got through). The box
        kills the command at `executionTimeout`, the same deadline the poll waits for."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                sent = self.send_client.send_command(
                    InstanceIds=[self.instance_id],
                    DocumentName="AWS-RunShellScript",
                    Parameters={
                        "commands": [script],
                        "executionTimeout": [str(max(1, int(limit_s)))],
                    },
                    TimeoutSeconds=max(30, int(limit_s)),
                )
                return str(sent["Command"]["CommandId"])
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in ("InvalidInstanceId", "InvalidTarget"):
                    raise BoxGone(f"{self.instance_id}: not a managed instance ({code})") from exc
                if not is_throttling(exc) or attempt == SEND_ATTEMPTS:
                    raise
            except SEND_NOT_SENT:
                if attempt == SEND_ATTEMPTS:
                    raise
            retries.LEDGER.record_aws("SendCommand", {"InstanceId": self.instance_id}, 1)
            time.sleep(min(1.0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _poll(
        self, command_id: str, script: str, started: float, timeout_s: float
    ) -> dict[str, Any]:
        def observe() -> dict[str, Any]:
            try:
                return dict(
                    self.poll_client.get_command_invocation(
                        CommandId=command_id, InstanceId=self.instance_id
                    )
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in NOT_YET_ERRORS or is_throttling(exc):
                    return {"Status": code}
                raise

        try:
            return wait_for(
                f"SSM command {command_id} on {self.instance_id}",
                observe,
                lambda answer: (
                    answer.get("Status")
                    not in NOT_YET_STATUSES | NOT_YET_ERRORS | THROTTLING_ERRORS
                ),
                timeout_s=timeout_s,
                poll_s=self.pace.poll_s(self.poll_s),
                first_after_s=max(0.0, self.pace.first_poll_s() - (time.monotonic() - started)),
                describe=lambda answer: f"Status={answer.get('Status')}",
                log_every_s=self.log_every_s,
                transient=POLL_TRANSPORT_ERRORS,
                level=logging.DEBUG,  # one per command: INFO would drown the story
            ).value
        except WaitTimeout as exc:
            ping = self._safe_ping()
            gone = BoxGone if ping != "Online" else SsmError
            raise gone(
                f"{exc}\ninstance PingStatus now: {ping}\nscript:\n{redact(script)[:1500]}"
            ) from None

    def _safe_ping(self) -> str:
        try:
            return self.ping_status()
        except Exception as exc:  # reporting only: never mask the original timeout
            return f"unknown ({type(exc).__name__})"
