"""SsmHost: "not yet" states, exit code apart from status, PingStatus first, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.fake_ssm import FakeSsm

from e2e.harness.ssm import BoxGone, CommandPace, CommandResult, SsmError, SsmHost


def host(ssm: FakeSsm, **kw: Any) -> SsmHost:
    return SsmHost(
        ssm, ssm.instance_id, poll_s=0.001, command_timeout_s=2, online_timeout_s=2, **kw
    )


def test_not_yet_states_are_waited_through(tmp_path: Path) -> None:
    not_yet = ["InvocationDoesNotExist", "Pending", "InProgress", "Delayed", "InProgress"]
    ssm = FakeSsm(tmp_path, not_yet=not_yet)
    result = host(ssm).run("echo ok")
    assert result.ok and result.stdout == "ok\n"
    assert ssm.polls["cmd-1"] == 6


def test_throttled_or_dropped_polls_count_as_not_yet_and_go_to_the_poll_client(
    tmp_path: Path,
) -> None:
    """The poll loop is the retry: a throttled read, or one whose connection dropped, is polled
    again at the loop's pace (the poll client has no botocore retries, whose backoff would
    stack on the poll interval)."""
    poll = FakeSsm(
        tmp_path, not_yet=["ThrottlingException", "Pending", "EndpointConnectionError", "Pending"]
    )
    poll.ping = ["ThrottlingException", "EndpointConnectionError", "Online"]
    sender = FakeSsm(tmp_path, ping=["NotRegistered"])  # would never be Online: not asked
    sender.commands, sender.polls, sender.sent_to = (
        poll.commands,
        poll.polls,
        poll.sent_to,
    )  # one box
    h = SsmHost(sender, poll.instance_id, poll_s=0.001, command_timeout_s=2, poll_client=poll)
    result = h.run("echo ok")
    assert result.ok and result.stdout == "ok\n"
    assert poll.polls["cmd-1"] == 5 and poll.ping == ["Online"]
    # a look outside a poll loop (e.g. bracketing a reading) has nobody to poll it again: it
    # goes to the client with botocore's retries
    assert h.ping_status() == "NotRegistered"


def test_other_errors_of_a_poll_are_not_swallowed(tmp_path: Path) -> None:
    ssm = FakeSsm(tmp_path, ping=["AccessDeniedException"])
    with pytest.raises(ClientError, match="AccessDenied"):
        host(ssm).run("true")


def test_waits_for_ping_online_of_this_instance_before_sending(tmp_path: Path) -> None:
    ssm = FakeSsm(tmp_path, ping=["NotRegistered", "ConnectionLost", "Online"])
    h = host(ssm)
    h.run("true")
    assert ssm.ping == ["Online"]  # consumed the not-yet answers before the first send
    assert len(ssm.sent) == 1


def test_ping_never_online_is_a_timeout_naming_the_status(tmp_path: Path) -> None:
    ssm = FakeSsm(tmp_path, ping=["ConnectionLost"])
    with pytest.raises(AssertionError, match="PingStatus=ConnectionLost"):
        SsmHost(ssm, ssm.instance_id, poll_s=0.001, online_timeout_s=0.05).run("true")
    assert ssm.sent == []


def test_exit_code_is_checked_apart_from_status(tmp_path: Path) -> None:
    # SSM said Success but the script exited 3: still a failure, and it says both.
    ssm = FakeSsm(tmp_path, status_override="Success")
    with pytest.raises(SsmError, match=r"status=Success exit=3"):
        host(ssm).run("echo out; echo err >&2; exit 3")
    result = host(ssm).run("exit 3", check=False)
    assert result.status == "Success" and result.exit_code == 3 and not result.ok


def test_failed_command_reports_stdout_and_stderr(tmp_path: Path) -> None:
    ssm = FakeSsm(tmp_path)
    with pytest.raises(SsmError) as info:
        host(ssm).run("echo visible; echo broken >&2; exit 1")
    text = str(info.value)
    assert "status=Failed exit=1" in text and "visible" in text and "broken" in text


def test_command_that_never_finishes_on_a_lost_box_is_box_gone(tmp_path: Path) -> None:
    ssm = FakeSsm(tmp_path, not_yet=["InProgress"] * 10_000, ping=["Online", "ConnectionLost"])
    h = SsmHost(ssm, ssm.instance_id, poll_s=0.001, command_timeout_s=0.05)
    with pytest.raises(BoxGone, match="PingStatus now: ConnectionLost"):
        h.run("true")


def test_listener_sees_every_result(tmp_path: Path) -> None:
    seen: list[CommandResult] = []
    h = host(FakeSsm(tmp_path), listener=seen.append)
    h.run("echo a")
    h.run("exit 1", check=False)
    assert [r.exit_code for r in seen] == [0, 1]


def test_command_pace_spends_polls_where_the_answer_can_be() -> None:
    pace = CommandPace(keep=3, cap_s=1.0)
    assert pace.first_poll_s() == 0.0 and pace.poll_s(0.01) == 0.01  # nothing known: as before
    for elapsed in (0.040, 0.060, 0.050):
        pace.record(elapsed)
    assert pace.first_poll_s() == pytest.approx(0.025)  # half the median
    assert pace.poll_s(0.01) == pytest.approx(0.0125)  # a quarter of it, never below the floor
    assert pace.poll_s(0.02) == 0.02
    for elapsed in (30.0, 30.0, 30.0):  # staging-slow commands: bounded by the cap
        pace.record(elapsed)
    assert pace.first_poll_s() == 1.0 and pace.poll_s(0.01) == 1.0


def test_a_paced_host_polls_less_and_still_sees_every_not_yet_state(tmp_path: Path) -> None:
    """A host whose commands took ~40 ms waits ~20 ms before its first poll; the not-yet states
    after it are still waited through, and a finished command feeds the pace."""
    ssm = FakeSsm(tmp_path, not_yet=["Pending", "InProgress"])
    pace = CommandPace()
    pace.record(0.04)
    result = host(ssm, pace=pace).run("echo ok")
    assert result.ok and ssm.polls["cmd-1"] == 3
    assert result.elapsed_s >= 0.02
    assert pace.typical_s() == pytest.approx((0.04 + result.elapsed_s) / 2)


def test_the_fake_ssm_runs_bash_in_the_mapped_box(tmp_path: Path) -> None:
    """The shared fake (support.fake_ssm) is only worth its name if it really runs the script
    with /configs mapped into the box directory."""
    ssm = FakeSsm(tmp_path)
    cid = ssm.send_command(
        InstanceIds=["i-0fake"],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["echo hi > /configs/x; cat /configs/x"]},
    )["Command"]["CommandId"]
    answer = ssm.get_command_invocation(CommandId=cid, InstanceId="i-0fake")
    assert answer["StandardOutputContent"] == "hi\n"
    assert (tmp_path / "configs" / "x").read_text() == "hi\n"
