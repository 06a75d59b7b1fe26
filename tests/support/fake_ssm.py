"""A fake boto3 SSM client that really runs the harness's scripts with bash on this machine,
with /configs and /workspace mapped into a temp dir and SSM's 24,000-character output cap, and
scripted "not yet" answers. Real bash, so manifest paging, base64 chunks and quoting are
exercised for real; only the transport is fake."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

OUTPUT_CAP = 24_000


def client_error(code: str, op: str = "GetCommandInvocation") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, op)


class FakeSsm:
    """Just enough of boto3's SSM client for SsmHost."""

    def __init__(
        self,
        box_root: Path,
        *,
        instance_id: str = "i-0fake",
        not_yet: Iterable[str] = (),
        ping: Iterable[str] = ("Online",),
        status_override: str | None = None,
    ) -> None:
        self.root = box_root
        self.instance_id = instance_id
        self.not_yet = list(not_yet)  # e.g. ["InvocationDoesNotExist", "Pending", "InProgress"]
        self.ping = list(ping)
        self.status_override = status_override
        self.commands: dict[str, dict[str, Any]] = {}
        self.sent_to: dict[str, str] = {}  # command id → instance id
        self.polls: dict[str, int] = {}
        self.sent: list[str] = []
        self._ids = itertools.count(1)
        (box_root / "configs").mkdir(parents=True, exist_ok=True)
        (box_root / "workspace").mkdir(parents=True, exist_ok=True)

    def describe_instance_information(self, Filters: list[dict[str, Any]]) -> dict[str, Any]:
        status = self.ping.pop(0) if len(self.ping) > 1 else self.ping[0]
        if status.endswith("Exception"):
            raise client_error(status, "DescribeInstanceInformation")
        if status == "EndpointConnectionError":
            raise EndpointConnectionError(endpoint_url="http://ssm.invalid")
        if status == "NotRegistered":
            return {"InstanceInformationList": []}
        (instance_id,) = Filters[0]["Values"]
        return {"InstanceInformationList": [{"InstanceId": instance_id, "PingStatus": status}]}

    def send_command(self, **kw: Any) -> dict[str, Any]:
        assert kw["DocumentName"] == "AWS-RunShellScript"
        (script,) = kw["Parameters"]["commands"]
        (instance_id,) = kw["InstanceIds"]
        self.sent.append(script)
        mapped = script.replace("/configs", f"{self.root}/configs").replace(
            "/workspace", f"{self.root}/workspace"
        )
        proc = subprocess.run(["bash", "-c", mapped], capture_output=True, timeout=60)
        cid = f"cmd-{next(self._ids)}"
        code = proc.returncode
        self.commands[cid] = {
            "Status": self.status_override or ("Success" if code == 0 else "Failed"),
            "ResponseCode": code,
            "StandardOutputContent": proc.stdout.decode("utf-8", "replace")[:OUTPUT_CAP],
            "StandardErrorContent": proc.stderr.decode("utf-8", "replace")[:OUTPUT_CAP],
        }
        self.sent_to[cid] = instance_id
        self.polls[cid] = 0
        return {"Command": {"CommandId": cid}}

    def get_command_invocation(self, CommandId: str, InstanceId: str) -> dict[str, Any]:
        assert InstanceId == self.sent_to[CommandId], (InstanceId, self.sent_to[CommandId])
        n = self.polls[CommandId]
        self.polls[CommandId] = n + 1
        if n < len(self.not_yet):
            state = self.not_yet[n]
            if state in ("InvocationDoesNotExist", "ThrottlingException"):
                raise client_error(state)
            if state == "EndpointConnectionError":
                raise EndpointConnectionError(endpoint_url="http://ssm.invalid")
            return {"Status": state, "ResponseCode": -1}
        return dict(self.commands[CommandId])
