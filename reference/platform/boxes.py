"""How the platform reaches into a running box: push a plugin, check one, list and read files.

The product does this over EC2 Instance Connect (an SSH tunnel per call, `sudo -n …`); the
reference has no SSH, so the same shell commands travel over SSM Run Command through the AWS
endpoint: a real hop, with the same failure modes (box gone, command failed, timeout). Every
script is POSIX sh, since AWS-RunShellScript hands it to /bin/sh.
"""

from __future__ import annotations

import base64
import io
import shlex
import tarfile
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from reference.config import StackConfig

PLUGINS_DIR = "/configs/plugins"
MAX_POLL_S = 0.5
READ_CHUNK_BYTES = 15_000  # base64 of it stays under SSM's 24,000-character output cap
LIST_EXCLUDE = ("*/.git/*", "*/__pycache__/*", "*/node_modules/*", "*/.DS_Store")


class BoxError(Exception):
    """The box could not be reached or the command failed; the message says which."""


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str


class Boxes:
    def __init__(self, config: StackConfig, ssm: Any, poll_s: float = 0.02) -> None:
        self.config = config
        self.ssm = ssm
        self.poll_s = poll_s

    def run(self, instance_id: str, script: str, timeout_s: float = 30.0) -> Ran:
        try:
            sent = self.ssm.send_command(
                InstanceIds=[instance_id],
                DocumentName="AWS-RunShellScript",
                Parameters={"commands": [script], "executionTimeout": [str(int(timeout_s))]},
            )
        except ClientError as exc:
            raise BoxError(f"box {instance_id} unreachable: {exc}") from exc
        command_id = sent["Command"]["CommandId"]
        deadline = time.monotonic() + timeout_s + 5
        pause = self.poll_s
        while True:
            try:
                answer = self.ssm.get_command_invocation(
                    CommandId=command_id, InstanceId=instance_id
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "InvocationDoesNotExist":
                    raise BoxError(f"box {instance_id}: {exc}") from exc
                answer = {"Status": "Pending"}
            status = answer.get("Status")
            if status not in ("Pending", "InProgress", "Delayed"):
                break
            if time.monotonic() > deadline:
                raise BoxError(f"box {instance_id}: command {command_id} still {status}")
            time.sleep(pause)
            # backing off: at a few hundred boxes, fixed 20 ms polls from every push and
            # presence check were thousands of calls a second to a busy AWS endpoint
            pause = min(pause * 1.5, MAX_POLL_S)
        if status not in ("Success", "Failed"):
            raise BoxError(f"box {instance_id}: command {command_id} ended {status}")
        return Ran(
            int(answer.get("ResponseCode", -1)),
            answer.get("StandardOutputContent", ""),
            answer.get("StandardErrorContent", ""),
        )

    # -- plugins ------------------------------------------------------------------------------
    def push_plugin(self, instance_id: str, name: str, files: dict[str, bytes]) -> None:
        """`rm -rf D && mkdir -p D && tar -xzf - -C D` with D = /configs/plugins/<name>."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for rel, data in sorted(files.items()):
                info = tarfile.TarInfo(rel)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        target = shlex.quote(f"{PLUGINS_DIR}/{name}")
        payload = base64.b64encode(buffer.getvalue()).decode("ascii")
        script = (
            f"set -e\nrm -rf {target}\nmkdir -p {target}\n"
            f"base64 -d <<'EOF' | tar -xzf - --no-same-owner -C {target}\n{payload}\nEOF\n"
        )
        ran = self.run(instance_id, script, timeout_s=120)
        if ran.code != 0:
            raise BoxError(f"plugin {name} push to {instance_id} failed: {ran.stderr[-500:]}")

    def plugin_present(self, instance_id: str, name: str) -> bool:
        """The product's reconcile test: `cat /configs/plugins/<n>/plugin.yaml` is non-empty."""
        path = shlex.quote(f"{PLUGINS_DIR}/{name}/plugin.yaml")
        return bool(self.run(instance_id, f"cat {path} 2>/dev/null || true").stdout.strip())

    # -- files API ----------------------------------------------------------------------------
    def list_files(self, instance_id: str, directory: str, depth: int) -> list[dict[str, Any]]:
        """`find` as templates.go runs it: `d|0|rel` and `f|size|rel`, relative to `directory`."""
        excludes = " ".join(f"! -path {shlex.quote(p)}" for p in LIST_EXCLUDE)
        d = shlex.quote(directory)
        script = (
            f"[ -d {d} ] || exit 0\ncd {d} || exit 0\n"
            f"find . -mindepth 1 -maxdepth {int(depth)} {excludes} | while IFS= read -r p; do\n"
            '  r=${p#./}\n  if [ -d "$p" ]; then echo "d|0|$r"; '
            'else echo "f|$(stat -c %s -- "$p")|$r"; fi\ndone\n'
        )
        ran = self.run(instance_id, script)
        if ran.code != 0 or len(ran.stdout) >= 24_000:
            raise BoxError(f"failed to list files: {ran.stderr[-300:] or 'output cut'}")
        entries = []
        for line in ran.stdout.splitlines():
            kind, size, rel = line.split("|", 2)
            entries.append({"path": rel, "size": int(size), "dir": kind == "d"})
        return entries

    def read_file(self, instance_id: str, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist (read in base64 chunks)."""
        data = b""
        quoted = shlex.quote(path)
        while True:
            script = (
                f"[ -f {quoted} ] || {{ echo NOFILE; exit 0; }}\n"
                f"stat -c %s -- {quoted}\n"
                f"tail -c +{len(data) + 1} -- {quoted} | head -c {READ_CHUNK_BYTES} | base64 -w0\n"
            )
            ran = self.run(instance_id, script)
            lines = ran.stdout.splitlines()
            if ran.code != 0 or not lines:
                raise BoxError(f"failed to read file: {ran.stderr[-300:]}")
            if lines[0] == "NOFILE":
                return None
            size = int(lines[0])
            data += base64.b64decode(lines[1]) if len(lines) > 1 else b""
            if len(data) >= size:
                return data[:size]
