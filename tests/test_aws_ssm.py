"""SSM Run Command against real boxes, through an unmodified boto3 client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.procs import processes_mentioning

CONFIG = {"config.yaml": "name: ssm-test\nrole: tester\n"}


@pytest.fixture(scope="module")
def box(make_workspaces: Callable[[], Any]) -> Iterator[tuple[Any, str]]:
    spaces = make_workspaces()
    workspace_id = spaces.new_id()
    spaces.put_config(workspace_id, CONFIG)
    instance_id = spaces.launch(workspace_id, persistence="ephemeral")
    yield spaces, instance_id
    spaces.terminate(instance_id)


def send(spaces: Any, instance_id: str, *commands: str, **params: str) -> str:
    parameters = {"commands": list(commands), **{k: [v] for k, v in params.items()}}
    return str(
        spaces.ssm.send_command(
            InstanceIds=[instance_id], DocumentName="AWS-RunShellScript", Parameters=parameters
        )["Command"]["CommandId"]
    )


def run(spaces: Any, instance_id: str, *commands: str, **params: str) -> dict[str, Any]:
    spaces.wait_online(instance_id)
    command_id = send(spaces, instance_id, *commands, **params)
    return spaces.wait_command(command_id, instance_id, 30)


def test_status_goes_pending_in_progress_success_in_order(box: tuple[Any, str]) -> None:
    """The command holds until a second command releases it, so InProgress is always seen."""
    spaces, iid = box
    spaces.wait_online(iid)
    release = "/tmp/release-status-order"
    command_id = send(spaces, iid, f"until [ -e {release} ]; do sleep 0.01; done", "echo finished")
    order = ["InvocationDoesNotExist", "Pending", "InProgress", "Success"]
    seen: list[str] = []

    def observe() -> str:
        status = str(spaces.invocation(command_id, iid)["Status"])
        if not seen or seen[-1] != status:
            seen.append(status)
        return status

    spaces.wait_until("InProgress", observe, lambda s: s not in order[:2])
    assert seen[-1] == "InProgress", seen
    assert run(spaces, iid, f"touch {release}")["Status"] == "Success"
    spaces.wait_until("Success", observe, lambda s: s not in order[:3])
    assert seen[-1] == "Success", seen
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen), seen
    assert spaces.invocation(command_id, iid)["StandardOutputContent"] == "finished\n"


def test_commands_run_in_order_in_one_shell_with_exit_code(box: tuple[Any, str]) -> None:
    spaces, iid = box
    ok = run(
        spaces, iid, "cd /tmp", "GREETING=hello", 'echo "$GREETING from $(pwd)"', "echo oops >&2"
    )
    assert (ok["Status"], ok["ResponseCode"]) == ("Success", 0)
    assert ok["StandardOutputContent"] == "hello from /tmp\n"
    assert ok["StandardErrorContent"] == "oops\n"
    failed = run(spaces, iid, "echo partial", "exit 42")
    assert (failed["Status"], failed["ResponseCode"]) == ("Failed", 42)
    assert failed["StandardOutputContent"] == "partial\n"


BASH_ONLY = 'mapfile -t lines < <(printf "a\\nb\\n")\necho "second: ${lines[1]}"'


def test_a_script_without_a_shebang_runs_under_dash(box: tuple[Any, str]) -> None:
    """Like amazon-ssm-agent: `sh -c <_script.sh>`, and sh is dash (reference/box/ssm_exec.py)."""
    spaces, iid = box
    assert run(spaces, iid, "readlink -f /usr/bin/sh")["StandardOutputContent"] == "/usr/bin/dash\n"
    dash = run(spaces, iid, BASH_ONLY)
    assert (dash["Status"], dash["ResponseCode"]) == ("Failed", 2)
    assert dash["StandardErrorContent"].endswith(
        "/_script.sh: 1: Syntax error: redirection unexpected\n"
    ), dash["StandardErrorContent"]
    bash = run(spaces, iid, "#!/bin/bash\n" + BASH_ONLY)
    assert (bash["Status"], bash["StandardOutputContent"]) == ("Success", "second: b\n")


def test_the_script_is_written_where_the_agent_writes_it(box: tuple[Any, str]) -> None:
    spaces, iid = box
    first = run(spaces, iid, "echo one", "echo two")
    path = (
        f"/var/lib/amazon/ssm/{iid}/document/orchestration/{first['CommandId']}"
        "/awsrunShellScript/0.awsrunShellScript/_script.sh"
    )
    seen = run(spaces, iid, f"stat -c %a {path}; cat {path}")["StandardOutputContent"]
    assert seen == "700\necho one\necho two\n"


def test_default_working_directory_and_environment_are_the_agents(box: tuple[Any, str]) -> None:
    spaces, iid = box
    out = run(spaces, iid, 'pwd; echo "$AWS_SSM_INSTANCE_ID $AWS_SSM_REGION_NAME"')
    region = spaces.stack.config.region
    assert out["StandardOutputContent"] == f"/var/snap/amazon-ssm-agent/7993\n{iid} {region}\n"


def test_working_directory_is_honoured(box: tuple[Any, str]) -> None:
    spaces, iid = box
    assert run(spaces, iid, "pwd", workingDirectory="/configs")["StandardOutputContent"] == (
        "/configs\n"
    )
    missing = run(spaces, iid, "pwd", workingDirectory="/no/such/dir")
    assert missing["Status"] == "Failed"
    assert "/no/such/dir" in missing["StandardErrorContent"]


def test_output_is_capped_at_24000_characters_and_never_held_whole(
    box: tuple[Any, str],
) -> None:
    spaces, iid = box
    multibyte = run(spaces, iid, "yes é | tr -d '\\n' | head -c 100000")
    assert multibyte["StandardOutputContent"] == "é" * 24_000
    huge = run(spaces, iid, "head -c 300000000 /dev/zero | tr '\\0' x; echo done >&2")
    assert huge["StandardOutputContent"] == "x" * 24_000
    assert huge["StandardErrorContent"] == "done\n"
    # The supervisor streamed 300 MB through a capped buffer: its peak memory stayed small.
    peak = run(
        spaces,
        iid,
        "grep VmHWM /proc/$(pgrep -f '^/usr/bin/python3 .*-m reference[.]box[.]supervisor')/status",
    )
    peak_kib = int(peak["StandardOutputContent"].split()[1])
    assert peak_kib < 80_000, peak["StandardOutputContent"]


def test_hanging_command_is_killed_at_execution_timeout(box: tuple[Any, str]) -> None:
    spaces, iid = box
    timed_out = run(spaces, iid, "echo started", "sleep 300.5", "echo never", executionTimeout="1")
    assert (timed_out["Status"], timed_out["StatusDetails"], timed_out["ResponseCode"]) == (
        "TimedOut",
        "ExecutionTimedOut",
        -1,
    )
    assert timed_out["StandardOutputContent"] == "started\n"  # output up to the kill is kept
    survivors = run(spaces, iid, "pgrep -f 'sleep 30[0].5' || echo none")
    assert survivors["StandardOutputContent"] == "none\n"


def test_background_processes_outlive_their_command(box: tuple[Any, str]) -> None:
    spaces, iid = box
    run(spaces, iid, "nohup sleep 301.5 >/dev/null 2>&1 &")
    alive = run(spaces, iid, "pgrep -f 'sleep 30[1].5' >/dev/null && echo alive")
    assert alive["StandardOutputContent"] == "alive\n"


def test_list_and_describe(box: tuple[Any, str]) -> None:
    spaces, iid = box
    done = run(spaces, iid, "echo listed")
    listed = spaces.ssm.list_command_invocations(
        CommandId=done["CommandId"], InstanceId=iid, Details=True
    )["CommandInvocations"]
    assert [(i["InstanceId"], i["Status"]) for i in listed] == [(iid, "Success")]
    plugin = listed[0]["CommandPlugins"][0]
    assert (plugin["Name"], plugin["ResponseCode"], plugin["Output"]) == (
        "aws:runShellScript",
        0,
        "listed\n",
    )
    info = spaces.ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [iid]}]
    )["InstanceInformationList"]
    assert [(i["InstanceId"], i["PingStatus"], i["PlatformType"]) for i in info] == [
        (iid, "Online", "Linux")
    ]


def test_unknown_instance_is_refused_before_anything_runs(box: tuple[Any, str]) -> None:
    spaces, _ = box
    with pytest.raises(ClientError) as caught:
        send(spaces, "i-0123456789abcdef0", "echo never")
    assert caught.value.response["Error"]["Code"] == "InvalidInstanceId"
    with pytest.raises(spaces.ssm.exceptions.InvocationDoesNotExist):
        spaces.ssm.get_command_invocation(
            CommandId="00000000-0000-0000-0000-000000000000", InstanceId="i-0123456789abcdef0"
        )


def test_terminated_instance_loses_ping_and_everything_in_it_dies(
    workspaces: Any,
) -> None:
    workspace_id = workspaces.new_id()
    workspaces.put_config(workspace_id, CONFIG)
    iid = workspaces.launch(workspace_id, persistence="ephemeral")
    workspaces.wait_online(iid)
    run(workspaces, iid, "nohup sleep 302.5 >/dev/null 2>&1 &")
    assert processes_mentioning("sleep 302.5")
    workspaces.terminate(iid)
    workspaces.wait_until(
        "ConnectionLost", lambda: workspaces.ping(iid), lambda s: s == "ConnectionLost"
    )
    workspaces.wait_until(
        "box processes gone", lambda: processes_mentioning("sleep 302.5"), lambda p: not p
    )
    workspaces.wait_until("no zombie children", zombie_children, lambda z: not z)


def zombie_children() -> list[int]:
    """Children of this (stack) process that ended but were never reaped."""
    import os

    zombies = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == os.getpid():
                zombies.append(int(entry))
    return zombies
