"""`python -m reference serve` as a user runs it: faults on, then Ctrl-C (SIGINT) or SIGKILL.

After shutdown no process that the stack started may remain; every box process carries the
stack's state dir in its command line (bwrap's binds), which is how we find leftovers.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.procs import processes_mentioning
from support.served import Served

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def _start(*args: str) -> Served:
        served = Served(tmp_path, *args)
        started.append(served)
        return served

    yield _start
    for served in started:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait()


def boot_box(spaces: Any) -> str:
    ws = spaces.new_id()
    spaces.put_config(ws, {"config.yaml": "name: serve-test\n"})
    iid = spaces.launch(ws, spaces.new_volume(ws))
    spaces.wait_online(iid)
    return str(iid)


def test_whole_stack_with_ssm_delay_and_slow_boot_then_sigint_leaves_no_process(
    serve: Callable[..., Served], workspaces_for: Callable[[Any], Any]
) -> None:
    import httpx

    served = serve("--faults", "ssm-delay,slow-boot")
    assert served.info["platform_url"].startswith("http://127.0.0.1:")
    answer = httpx.get(served.info["platform_url"] + "/health", timeout=10)
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    spaces = workspaces_for(served.as_stack())
    iid = boot_box(spaces)

    # ssm-delay: not found, then Pending for a while, then the real outcome
    sent = time.monotonic()
    command_id = spaces.ssm.send_command(
        InstanceIds=[iid],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["nohup sleep 303.5 >/dev/null 2>&1 &", "echo ok"]},
    )["Command"]["CommandId"]
    seen: list[tuple[str, float]] = []

    def observe() -> str:
        status = str(spaces.invocation(command_id, iid)["Status"])
        if not seen or seen[-1][0] != status:
            seen.append((status, time.monotonic() - sent))
        return status

    spaces.wait_until("Success", observe, lambda s: s in ("Success", "Failed"))
    order = ["InvocationDoesNotExist", "Pending", "InProgress", "Success"]
    statuses = [status for status, _ in seen]
    assert statuses[-1] == "Success", seen
    assert [order.index(s) for s in statuses] == sorted(order.index(s) for s in statuses), seen
    # Lower bounds hold however slowly this test polls: hidden 0.4 s, then Pending 0.4 s.
    first_visible = next(at for status, at in seen if status != "InvocationDoesNotExist")
    assert first_visible >= 0.4, seen
    assert seen[-1][1] >= 0.8, seen

    # slow-boot: the boot step waited before delivering
    boot_log = spaces.run(iid, "cat /var/log/molecule-boot.log")["StandardOutputContent"]
    assert "slow-boot: waiting 1.0s" in boot_log

    assert processes_mentioning(str(served.state_dir))
    assert served.stop(signal.SIGINT) == 0, (
        served.stderr_text()
    )  # Ctrl-C; the harness sends SIGTERM
    spaces.wait_until(
        "no process of the stack left",
        lambda: processes_mentioning(str(served.state_dir)) + processes_mentioning("sleep 303.5"),
        lambda left: not left,
    )


def test_throttled_reads_are_retried_and_sigkill_takes_the_boxes_along(
    serve: Callable[..., Served], workspaces_for: Callable[[Any], Any]
) -> None:
    served = serve("--no-platform", "--faults", "aws-throttle")
    spaces = workspaces_for(served.as_stack())
    iid = boot_box(spaces)
    # aws-throttle: reads are throttled now and then, botocore retries, callers never notice
    retries = 0
    for _ in range(6):
        answer = spaces.ssm.describe_instance_information()
        retries += answer["ResponseMetadata"]["RetryAttempts"]
        answer = spaces.ec2.describe_instances(InstanceIds=[iid])
        retries += answer["ResponseMetadata"]["RetryAttempts"]
    assert retries >= 1

    spaces.run(iid, "nohup sleep 304.5 >/dev/null 2>&1 &")
    assert processes_mentioning("sleep 304.5")
    served.stop(signal.SIGKILL)
    spaces.wait_until(
        "boxes gone with their stack",
        lambda: processes_mentioning(str(served.state_dir)) + processes_mentioning("sleep 304.5"),
        lambda left: not left,
    )
