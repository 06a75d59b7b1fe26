"""SSM Run Command state and wire format, with a fake box (no processes)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from reference.aws.faults import Throttle
from reference.aws.ssm_state import Command, SsmError, SsmState
from reference.aws.ssm_wire import SsmWire


class RecordingBox:
    def __init__(self, accept: bool = True) -> None:
        self.accept = accept
        self.sent: list[tuple[str, str]] = []

    def dispatch(self, command: Command, instance_id: str) -> bool:
        self.sent.append((command.command_id, instance_id))
        return self.accept


def call(wire: SsmWire, op: str, **body: Any) -> tuple[int, dict[str, Any]]:
    return wire.answer(f"AmazonSSM.{op}", json.dumps(body).encode())


@pytest.fixture
def wire() -> SsmWire:
    state = SsmState()
    state.dispatcher = RecordingBox()
    state.instance_online("i-1", "10.0.0.1")
    return SsmWire(state)


def send(wire: SsmWire, *commands: str, **params: list[str]) -> str:
    status, answer = call(
        wire,
        "SendCommand",
        InstanceIds=["i-1"],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": list(commands), **params},
    )
    assert status == 200, answer
    return str(answer["Command"]["CommandId"])


def status_of(wire: SsmWire, command_id: str) -> str:
    status, answer = call(wire, "GetCommandInvocation", CommandId=command_id, InstanceId="i-1")
    return answer["Status"] if status == 200 else answer["__type"]


def test_status_sequence_not_found_pending_in_progress_success(wire: SsmWire) -> None:
    state = wire.state
    command_id = send(wire, "echo hi")
    assert status_of(wire, command_id) == "InvocationDoesNotExist"
    assert call(wire, "ListCommandInvocations", CommandId=command_id)[1]["CommandInvocations"] == []
    state.picked_up(command_id, "i-1")
    assert status_of(wire, command_id) == "Pending"
    state.started(command_id, "i-1", 1000.0)
    assert status_of(wire, command_id) == "InProgress"
    state.finished(command_id, "i-1", 0, False, "hi\n", "", 1000.0, 1000.25)
    _, answer = call(wire, "GetCommandInvocation", CommandId=command_id, InstanceId="i-1")
    assert (answer["Status"], answer["ResponseCode"], answer["StandardOutputContent"]) == (
        "Success",
        0,
        "hi\n",
    )
    assert answer["ExecutionStartDateTime"].endswith("Z")
    assert answer["ExecutionElapsedTime"] == "PT0.250S"


def test_exit_code_and_timeout_outcomes(wire: SsmWire) -> None:
    failed, timed_out = send(wire, "exit 7"), send(wire, "sleep 99")
    wire.state.finished(failed, "i-1", 7, False, "", "boom", 1.0, 2.0)
    wire.state.finished(timed_out, "i-1", -1, True, "", "", 1.0, 2.0)
    _, a = call(wire, "GetCommandInvocation", CommandId=failed, InstanceId="i-1")
    _, b = call(wire, "GetCommandInvocation", CommandId=timed_out, InstanceId="i-1")
    assert (a["Status"], a["ResponseCode"], a["StandardErrorContent"]) == ("Failed", 7, "boom")
    assert (b["Status"], b["StatusDetails"], b["ResponseCode"]) == (
        "TimedOut",
        "ExecutionTimedOut",
        -1,
    )


def test_output_is_capped_at_24000_characters(wire: SsmWire) -> None:
    command_id = send(wire, "x")
    wire.state.finished(command_id, "i-1", 0, False, "é" * 30_000, "e" * 25_000, 1.0, 2.0)
    _, answer = call(wire, "GetCommandInvocation", CommandId=command_id, InstanceId="i-1")
    assert len(answer["StandardOutputContent"]) == 24_000
    assert len(answer["StandardErrorContent"]) == 24_000
    _, listed = call(wire, "ListCommandInvocations", CommandId=command_id, Details=True)
    assert len(listed["CommandInvocations"][0]["CommandPlugins"][0]["Output"]) == 2_500


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"InstanceIds": ["i-1"], "DocumentName": "AWS-RunPowerShellScript",
          "Parameters": {"commands": ["x"]}}, "InvalidDocument"),
        ({"InstanceIds": ["i-unknown"], "DocumentName": "AWS-RunShellScript",
          "Parameters": {"commands": ["x"]}}, "InvalidInstanceId"),
        ({"InstanceIds": ["i-1"], "DocumentName": "AWS-RunShellScript",
          "Parameters": {"commands": []}}, "InvalidParameters"),
        ({"InstanceIds": ["i-1"], "DocumentName": "AWS-RunShellScript",
          "Parameters": {"commands": ["x"], "executionTimeout": ["soon"]}}, "InvalidParameters"),
    ],
)  # fmt: skip
def test_bad_requests_are_4xx_and_queue_nothing(
    wire: SsmWire, body: dict[str, Any], code: str
) -> None:
    status, answer = call(wire, "SendCommand", **body)
    assert (status, answer["__type"]) == (400, code)
    assert wire.state.command_count() == 0
    assert wire.state.dispatcher.sent == []  # type: ignore[union-attr]


def test_lost_box_fails_its_unfinished_invocations_and_loses_ping(wire: SsmWire) -> None:
    command_id = send(wire, "sleep 100")
    wire.state.started(command_id, "i-1", 1.0)
    wire.state.instance_lost("i-1")
    assert status_of(wire, command_id) == "Failed"
    _, info = call(wire, "DescribeInstanceInformation")
    assert info["InstanceInformationList"][0]["PingStatus"] == "ConnectionLost"
    status, answer = call(
        wire, "SendCommand", InstanceIds=["i-1"], DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["x"]},
    )  # fmt: skip
    assert (status, answer["__type"]) == (400, "InvalidInstanceId")


def test_undeliverable_command_is_visible_as_failed_not_hidden_forever() -> None:
    state = SsmState()
    state.dispatcher = RecordingBox(accept=False)
    state.instance_online("i-1", "10.0.0.1")
    command = state.send_command(["i-1"], ["x"], {"commands": ["x"]}, "", 60, "")
    _, inv = state.get_invocation(command.command_id, "i-1")
    assert (inv.status, inv.status_details) == ("Failed", "Undeliverable")


def test_bookkeeping_is_bounded() -> None:
    state = SsmState(max_commands=10)
    state.dispatcher = RecordingBox()
    state.instance_online("i-1", "10.0.0.1")
    for _ in range(50):
        command = state.send_command(["i-1"], ["x"], {"commands": ["x"]}, "", 60, "")
        state.finished(command.command_id, "i-1", 0, False, "", "", 1.0, 2.0)
    assert state.command_count() <= 11
    with pytest.raises(SsmError):
        state.send_command(["i-2"], ["x"], {"commands": ["x"]}, "", 60, "")


def test_throttle_never_hits_the_same_request_twice_in_a_row() -> None:
    throttle = Throttle(enabled=True, every=2)
    outcomes = [throttle.should_throttle(b"same") for _ in range(6)]
    assert outcomes.count(True) == 1
    assert not any(a and b for a, b in itertools.pairwise(outcomes))
    assert not Throttle(enabled=False).should_throttle(b"x")
