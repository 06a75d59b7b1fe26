"""A box reached over SSM Run Command, as the straight-line gate needs it: PingStatus, a
command sent and its invocation polled (paced by the recent command durations, as the harness
paces it), two-column sha256 manifests, a whole file, and files written in chunked base64 with
the harness's batching (so both send the same number of commands)."""

from __future__ import annotations

import base64
import shlex
import statistics
import time
from typing import Any

from e2e.harness.profiles import Profile

MANIFEST = "cd {root} && find . -type f -print0 | sort -z | xargs -0 -r sha256sum"
WRITE_CHARS = 16_000  # base64 per SendCommand, as the harness batches its writes
WRITE_CHUNK = 12_000  # bytes per printf line: 16,000 base64 characters


class Failed(AssertionError):
    pass


class BoxOverSsm:
    def __init__(self, ssm: Any, profile: Profile) -> None:
        self.ssm = ssm
        self.profile = profile
        self.pinged: set[str] = set()
        self.durations: list[float] = []

    def ping(self, box: str) -> str:
        info = self.ssm.describe_instance_information(
            Filters=[{"Key": "InstanceIds", "Values": [box]}]
        )["InstanceInformationList"]
        return str(info[0].get("PingStatus")) if info else "NotRegistered"

    def online(self, box: str) -> None:
        """PingStatus Online, asked once per box before its first command."""
        if box in self.pinged:
            return
        deadline = time.monotonic() + self.profile.ssm_online_s
        while self.ping(box) != "Online":
            if time.monotonic() > deadline:
                raise Failed(f"{box}: SSM PingStatus not Online")
            time.sleep(max(self.profile.ssm_poll_s, 0.02))
        self.pinged.add(box)

    def run(self, box: str, script: str) -> str:
        """SendCommand, then GetCommandInvocation paced as the harness paces it."""
        self.online(box)
        started = time.monotonic()
        command = self.ssm.send_command(
            InstanceIds=[box], DocumentName="AWS-RunShellScript", Parameters={"commands": [script]}
        )["Command"]["CommandId"]
        typical = statistics.median(self.durations[-15:]) if self.durations else 0.0
        time.sleep(min(typical / 2, 2.0))
        while True:
            try:
                answer = self.ssm.get_command_invocation(CommandId=command, InstanceId=box)
            except self.ssm.exceptions.InvocationDoesNotExist:
                answer = {"Status": "Pending"}
            if answer["Status"] not in ("Pending", "InProgress", "Delayed"):
                break
            if time.monotonic() - started > self.profile.command_s:
                raise Failed(f"command on {box} timed out")
            time.sleep(max(self.profile.ssm_poll_s, min(typical / 4, 2.0)))
        self.durations.append(time.monotonic() - started)
        if answer["Status"] != "Success" or answer.get("ResponseCode", 0) != 0:
            raise Failed(f"command on {box}: {answer['Status']}: {answer}")
        return str(answer["StandardOutputContent"])

    def manifest(self, box: str, root: str) -> dict[str, str]:
        lines = self.run(box, MANIFEST.format(root=root)).splitlines()
        return {f"{root}/{p.removeprefix('./')}": s for s, p in (x.split("  ", 1) for x in lines)}

    def read(self, box: str, path: str) -> bytes:
        return base64.b64decode(self.run(box, f"base64 -w0 {shlex.quote(path)}"))

    def write(self, box: str, files: dict[str, bytes]) -> None:
        """Chunked base64, WRITE_CHARS per command, like the harness (same command count)."""
        batch: list[str] = []
        size = 0
        for path, data in sorted(files.items()):
            quoted = shlex.quote(path)
            batch += [f'mkdir -p "$(dirname {quoted})"', f": > {quoted}"]
            for n in range(0, max(1, len(data)), WRITE_CHUNK):
                b64 = base64.b64encode(data[n : n + WRITE_CHUNK]).decode()
                if size and size + len(b64) > WRITE_CHARS:
                    self.run(box, "set -e\n" + "\n".join(batch))
                    batch, size = [], 0
                batch.append(f"printf %s {b64 or chr(39) * 2} | base64 -d >> {quoted}")
                size += len(b64)
        self.run(box, "set -e\n" + "\n".join(batch))
