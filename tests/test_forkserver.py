"""The fork server (`python -m reference forkserver`) and its harness client: warm stacks that
announce themselves like `serve --json`, get only the switches asked for, report a bad start
with the stack's own words, and never outlive the server — boxes included."""

from __future__ import annotations

import signal
from pathlib import Path

import boto3
import httpx
import pytest
from support.procs import processes_mentioning

from e2e.harness.platform import ORG_HEADER
from e2e.harness.waits import wait_for
from e2e.targets.embedded import EmbeddedStack, StackStartError
from e2e.targets.forkserver import ForkServer, ForkServerError


@pytest.fixture
def server(tmp_path: Path):
    forkserver = ForkServer(tmp_path / "forkserver.log")
    yield forkserver
    forkserver.close()


def forked(server: ForkServer, tmp_path: Path, label: str, **env: str) -> EmbeddedStack:
    env.setdefault("REFERENCE_STATE_DIR", str(tmp_path / label))
    stack = EmbeddedStack(env, log_dir=tmp_path / "logs", label=label, forkserver=server)
    stack.start()
    return stack


def launch_box(stack: EmbeddedStack) -> str:
    """A running instance tagged Role=workspace: the fleet gives it a box (no volume, so its
    boot reports a failure, but the box process stays up — which is what we need here)."""
    ec2 = boto3.client(
        "ec2",
        endpoint_url=stack.info["aws_endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    answer = ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Role", "Value": "workspace"}]}
        ],
    )
    return str(answer["Instances"][0]["InstanceId"])


def test_forked_stacks_serve_and_get_only_their_switches(
    server: ForkServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFERENCE_FAULTS", "platform-5xx")  # the harness's env must not leak
    plain = forked(server, tmp_path, "plain")
    docker = forked(server, tmp_path, "docker", REFERENCE_BACKEND="docker")
    assert plain.proc is not None and docker.proc is not None
    assert plain.proc.pid != docker.proc.pid
    for stack in (plain, docker):
        assert httpx.get(f"{stack.info['platform_url']}/health").status_code == 200
    # platform-5xx would answer every third admin GET with 503: none of 6 may fail
    headers = {
        "Authorization": f"Bearer {plain.info['admin_token']}",
        ORG_HEADER: plain.info["org_id"],
    }
    codes = {
        httpx.get(f"{plain.info['platform_url']}/templates", headers=headers).status_code
        for _ in range(6)
    }
    assert codes == {200}
    plain.stop()
    docker.stop()
    assert not plain.alive() and not docker.alive()


def test_a_stack_that_cannot_start_says_why(server: ForkServer, tmp_path: Path) -> None:
    with pytest.raises(StackStartError, match=r"(?s)without announcing.*REFERENCE_BACKEND must"):
        forked(server, tmp_path, "bad", REFERENCE_BACKEND="kubernetes")
    # the server is unharmed: the next stack starts
    assert forked(server, tmp_path, "next").alive()


def test_closing_the_server_ends_every_stack_and_box(server: ForkServer, tmp_path: Path) -> None:
    stacks = [forked(server, tmp_path, f"s{n}") for n in range(2)]
    for stack in stacks:
        launch_box(stack)
    state_dirs = [str(tmp_path / f"s{n}") for n in range(2)]
    wait_for(
        "a box per stack",
        lambda: [len(processes_mentioning(d)) for d in state_dirs],
        lambda counts: all(counts),
        timeout_s=20,
        poll_s=0.05,
    )
    server.close()
    wait_for(
        "no stack or box left",
        lambda: (
            [s.label for s in stacks if s.alive()]
            + [box for d in state_dirs for box in processes_mentioning(d)]
        ),
        lambda left: not left,
        timeout_s=20,
        poll_s=0.05,
    )


def test_a_shared_server_serves_other_processes_and_only_its_owner_ends_it(
    server: ForkServer, tmp_path: Path
) -> None:
    """The pytest controller owns the server; xdist workers share it through its socket."""
    path = server.start()
    sharer = ForkServer(tmp_path / "forkserver.log", socket_path=path)
    stack = EmbeddedStack(
        {"REFERENCE_STATE_DIR": str(tmp_path / "shared")},
        log_dir=tmp_path / "logs",
        label="shared",
        forkserver=sharer,
    )
    stack.start()
    sharer.close()  # a sharer closing changes nothing
    assert stack.alive() and path.exists()
    assert httpx.get(f"{stack.info['platform_url']}/health").status_code == 200
    server.close()  # the owner closing ends the server, its stacks and its socket
    wait_for("stack gone", stack.alive, lambda alive: not alive, timeout_s=20, poll_s=0.05)
    assert not path.exists()
    with pytest.raises(ForkServerError, match="fork server at"):
        forked(sharer, tmp_path, "too-late")


def test_a_stopped_stack_that_cannot_act_on_sigterm_is_killed(
    server: ForkServer, tmp_path: Path
) -> None:
    stack = forked(server, tmp_path, "stubborn")
    stack.stop_timeout_s = 0.5
    assert stack.proc is not None
    stack.proc.send_signal(signal.SIGSTOP)  # cannot act on SIGTERM (or SIGUSR1) any more
    stack.stop()
    assert not stack.alive()
