"""Fakes for unit tests of e2e/harness: an SSM client that really runs the harness's bash on
this machine (with /configs and /workspace mapped into a temp dir, and the 24,000-character
output cap), with scripted "not yet" answers. Also a self-test of the fake."""

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
        self.polls: dict[str, int] = {}
        self.sent: list[str] = []
        self._ids = itertools.count(1)
        (box_root / "configs").mkdir(parents=True, exist_ok=True)
        (box_root / "workspace").mkdir(parents=True, exist_ok=True)

    def describe_instance_information(self, Filters: list[dict[str, Any]]) -> dict[str, Any]:
        status = self.ping.pop(0) if len(self.ping) > 1 else self.ping[0]
        if status.endswith("Exception"):
            raise client_error(status)
        if status == "EndpointConnectionError":
            raise EndpointConnectionError(endpoint_url="http://ssm.invalid")
        if status == "NotRegistered":
            return {"InstanceInformationList": []}
        return {"InstanceInformationList": [{"InstanceId": self.instance_id, "PingStatus": status}]}

    def send_command(self, **kw: Any) -> dict[str, Any]:
        assert kw["DocumentName"] == "AWS-RunShellScript"
        (script,) = kw["Parameters"]["commands"]
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
        self.polls[cid] = 0
        return {"Command": {"CommandId": cid}}

    def get_command_invocation(self, CommandId: str, InstanceId: str) -> dict[str, Any]:
        assert InstanceId == self.instance_id
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


def test_fake_runs_bash_in_the_mapped_box(tmp_path: Path) -> None:
    ssm = FakeSsm(tmp_path)
    cid = ssm.send_command(
        InstanceIds=["i-0fake"],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["echo hi > /configs/x; cat /configs/x"]},
    )["Command"]["CommandId"]
    answer = ssm.get_command_invocation(CommandId=cid, InstanceId="i-0fake")
    assert answer["StandardOutputContent"] == "hi\n"
    assert (tmp_path / "configs" / "x").read_text() == "hi\n"
